"""« Que faire ? »: the exact best changes of the levers HR controls, from the model's one function per feature.

The served model's log-odds are a base plus one exact term per feature (futurisys.ml.shape). A change of a lever
moves the features derived from it (a raise moves both income-per-year features; a promotion moves the promotion
ratios; a satisfaction moves the overall satisfaction), so changes are applied to the raw record and the features
derived again. Levers that share no feature add up exactly: the search scores every allowed value of each lever (the
joint grid for levers sharing a feature, the four satisfactions), then combines groups by summing their best
log-odds changes over every subset of levers, which is exact and takes milliseconds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from futurisys.domain.explain import display_raw_value
from futurisys.domain.formatting import money, number, whole_percent
from futurisys.domain.schema import RAW_FIELDS, raw_field
from futurisys.ml.fairness import PROTECTED_FEATURES
from futurisys.ml.features import derive_features

#: Directions a lever may move in (codes stored in the catalogue, French labels for the page).
DIRECTIONS = {"baisse": "À la baisse", "hausse": "À la hausse", "deux": "Dans les deux sens"}
#: Raw fields HR can act on: the schema's levers, never a protected attribute.
LEVERS: tuple[str, ...] = tuple(f.name for f in RAW_FIELDS if f.lever and f.name not in PROTECTED_FEATURES)
#: A lever whose only action is to reset it (a promotion sets the years since the last one to 0).
RESET_TO_ZERO = frozenset({"annees_depuis_la_derniere_promotion"})
#: Features each lever moves (itself and the features derived from it); checked against derive_features in tests.
MOVES: dict[str, frozenset[str]] = {
    "revenu_mensuel": frozenset(
        {"revenu_mensuel", "revenu_par_annee_experience_totale", "revenu_par_annee_experience_interne"}
    ),
    "annees_depuis_la_derniere_promotion": frozenset(
        {"annees_depuis_la_derniere_promotion", "ratio_sans_promotion", "mobilite_promotion"}
    ),
    **{name: frozenset({name, "satisfaction_globale"}) for name in LEVERS if name.startswith("satisfaction_employee_")},
}
#: The honest line every proposal comes with.
CAVEAT = (
    "Ce que le modèle prédirait après ce changement, toutes choses égales par ailleurs : ce n'est pas un effet "
    "garanti sur le départ de l'employé."
)


class LeverError(ValueError):
    """A catalogue rule that cannot be a lever (protected attribute, context feature) or is out of range."""


@dataclass(frozen=True)
class LeverRule:
    """How one lever may be proposed: allowed or not, direction, largest change and step, cost 1–5."""

    name: str
    enabled: bool = True
    direction: str = "hausse"
    max_change: float = 1
    step: float = 1
    cost: int = 1


def check_rule(rule: LeverRule) -> LeverRule:
    """The rule itself when it can be one; LeverError (French message) otherwise."""
    if rule.name in PROTECTED_FEATURES:
        raise LeverError(f"« {rule.name} » est un attribut protégé : jamais un levier.")
    if rule.name not in LEVERS:
        raise LeverError(f"« {rule.name} » est une donnée de contexte : ce n'est pas un levier.")
    if rule.direction not in DIRECTIONS:
        raise LeverError("Sens inconnu : « baisse », « hausse » ou « deux ».")
    if not isinstance(rule.cost, int) or not 1 <= rule.cost <= 5:
        raise LeverError("Le coût est un entier de 1 à 5.")
    if not (rule.step > 0 and rule.max_change >= rule.step):
        raise LeverError("Le pas doit être positif et au plus égal à l'écart maximal.")
    return rule


def default_rules() -> dict[str, LeverRule]:
    """The catalogue before an admin changes it: every lever allowed, in the direction that lowers risk."""
    rules = {
        "heure_supplementaires": LeverRule("heure_supplementaires", direction="baisse", cost=3),
        "frequence_deplacement": LeverRule("frequence_deplacement", direction="baisse", max_change=2, cost=2),
        "revenu_mensuel": LeverRule("revenu_mensuel", max_change=1500, step=100, cost=4),
        "nombre_participation_pee": LeverRule("nombre_participation_pee", max_change=3, cost=1),
        "nb_formations_suivies": LeverRule("nb_formations_suivies", max_change=3, cost=2),
        "annees_depuis_la_derniere_promotion": LeverRule(
            "annees_depuis_la_derniere_promotion", direction="baisse", max_change=60, cost=5
        ),
    }
    for name in LEVERS:
        rules.setdefault(name, LeverRule(name, max_change=2, cost=2))  # the four satisfactions
    return {name: rules[name] for name in LEVERS}


def _order(name: str) -> tuple:
    """The values of a boolean or category lever, from lowest to highest."""
    spec = raw_field(name)
    return (False, True) if spec.kind == "bool" else spec.values


def lever_grid(rule: LeverRule, current) -> list:
    """The values `rule` allows this lever to take from `current` (the current value excluded), nearest first."""
    spec = raw_field(rule.name)
    if not rule.enabled or current is None:
        return []
    down, up = rule.direction in ("baisse", "deux"), rule.direction in ("hausse", "deux")
    if rule.name in RESET_TO_ZERO:
        return [0] if down and 0 < current <= rule.max_change else []
    if spec.kind in ("bool", "category"):
        order = _order(rule.name)
        at, reach = order.index(current), int(rule.max_change)
        steps = [k for k in range(1, reach + 1)]
        values = [order[at - k] for k in steps if down and at - k >= 0]
        values += [order[at + k] for k in steps if up and at + k < len(order)]
        return sorted(values, key=lambda v: abs(order.index(v) - at))
    values = []
    k = 1
    while k * rule.step <= rule.max_change + 1e-9:
        delta = k * rule.step
        delta = int(delta) if spec.kind == "int" else delta
        for value, allowed in ((current - delta, down), (current + delta, up)):
            if allowed and spec.minimum <= value <= spec.maximum:
                values.append(value)
        k += 1
    return values


def _groups(levers: Iterable[str]) -> list[tuple[str, ...]]:
    """Levers joined when they move a common feature (their effects do not add up one by one)."""
    groups: list[set[str]] = []
    for name in levers:
        moved = MOVES.get(name, frozenset({name}))
        joined = [g for g in groups if any(moved & MOVES.get(other, frozenset({other})) for other in g)]
        merged = {name}.union(*joined)
        groups = [g for g in groups if g not in joined] + [merged]
    return [tuple(n for n in LEVERS if n in g) for g in groups]


def raw_view(features: Mapping) -> dict:
    """A raw record that derives to `features` (a 30-feature payload has no raw record): what levers change."""
    view = {name: features.get(name) for name in features if raw_field_or_none(name)}
    company, since = features["annees_dans_l_entreprise"], features["annees_depuis_la_derniere_promotion"]
    view["annee_experience_totale"] = features["exp_hors_entreprise"] + company
    new_role = company == 0 or features["categorie_employe"] == "employe_nouveau_poste_interne"
    view["annees_dans_le_poste_actuel"] = 0 if new_role else features["mobilite_promotion"] + since
    view["note_evaluation_precedente"] = features["note_evaluation_actuelle"] - features["ecart_note_evaluation"]
    return view


def raw_field_or_none(name: str):
    """The raw field called `name`, or None for an engineered feature."""
    try:
        return raw_field(name)
    except KeyError:
        return None


@dataclass(frozen=True)
class Change:
    """One lever moved from `before` to `after`."""

    lever: str
    before: object
    after: object

    @property
    def phrase(self) -> str:
        """The change in plain French (« Supprimer les heures supplémentaires »)."""
        return describe_change(self.lever, self.before, self.after)


@dataclass(frozen=True)
class Proposal:
    """Changes of one or more levers, their total cost and the model's probability after them."""

    changes: tuple[Change, ...]
    proba: float
    cost: int
    record: dict = field(repr=False)  # the raw record after the changes (a what-if's input)
    features: dict = field(repr=False)

    @property
    def phrase(self) -> str:
        """All changes in French, joined."""
        text = " ; ".join(c.phrase for c in self.changes)
        return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Recourse:
    """What the model says would lower this employee's risk most, and what brings it under the alert threshold."""

    proba: float
    threshold: float
    singles: tuple[Proposal, ...]
    combination: Proposal | None  # the cheapest one under the threshold
    best: Proposal | None  # when no combination reaches it: the lowest risk the allowed levers reach
    binding: tuple[tuple[str, str], ...] = ()  # (lever, why) constraints that keep the risk above the threshold

    @property
    def below(self) -> bool:
        """Already under the alert threshold (no combination needed)."""
        return whole_percent(self.proba) < whole_percent(self.threshold)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


class _Scorer:
    """Scores records that differ from one employee's by some lever values."""

    def __init__(self, predictor, features: Mapping, raw: Mapping | None):
        self.predictor = predictor
        self.raw = dict(raw) if raw is not None else None
        self.base_raw = self.raw if self.raw is not None else raw_view(features)
        self.features = dict(features)
        self._reference = None if self.raw is not None else derive_features(self.base_raw)

    def record(self, changes: Mapping) -> dict:
        """The raw record with `changes` (the reconstructed one for a feature payload)."""
        return {**self.base_raw, **changes}

    def features_of(self, changes: Mapping) -> dict:
        """The 30 features after `changes`, derived features recomputed from the raw record."""
        derived = derive_features(self.record(changes))
        if self._reference is None:
            return derived
        # A feature payload keeps its own values except where the change moves them.
        return {**self.features, **{k: v for k, v in derived.items() if v != self._reference[k]}}

    def log_odds(self, rows: list[dict]) -> np.ndarray:
        """The blended log-odds of feature records, in one vectorised pass."""
        return self.predictor.log_odds_many(self.predictor.encoder.encode_many(rows))


def _under(z: float, threshold_shown: int) -> bool:
    return whole_percent(_sigmoid(z)) < threshold_shown


def _search(scorer: _Scorer, rules: Mapping[str, LeverRule], threshold: float, count: int):
    """(z0, singles [(z, changes)], combination (cost, z, changes) or None, best (z, changes))."""
    grids = {
        name: lever_grid(rules[name], scorer.base_raw.get(name))
        for name in LEVERS
        if name in rules and rules[name].enabled
    }
    grids = {name: grid for name, grid in grids.items() if grid}
    rows, metas = [scorer.features_of({})], [None]
    for group in _groups(grids):
        options = [[None, *grids[name]] for name in group]  # None: unchanged
        for combo in itertools.product(*options):
            changes = {name: value for name, value in zip(group, combo, strict=True) if value is not None}
            if changes:
                rows.append(scorer.features_of(changes))
                metas.append((group, changes))
    z = scorer.log_odds(rows)
    z0 = float(z[0])
    # Best value of each lever alone (ties: the smallest change, listed first in the grid).
    single: dict[str, tuple[float, dict]] = {}
    # Best log-odds change of each group for each set of its levers changed.
    best_of: dict[tuple[str, ...], dict[frozenset, tuple[float, dict]]] = {}
    for zi, meta in zip(z[1:], metas[1:], strict=True):
        group, changes = meta
        zi = float(zi)
        if len(changes) == 1:
            (name,) = changes
            if name not in single or zi < single[name][0]:
                single[name] = (zi, changes)
        key = frozenset(changes)
        slot = best_of.setdefault(group, {})
        if key not in slot or zi < slot[key][0]:
            slot[key] = (zi, changes)
    singles = sorted(
        ((zi, changes) for zi, changes in single.values() if zi < z0),
        key=lambda item: (item[0], LEVERS.index(*item[1])),
    )[:count]
    threshold_shown = whole_percent(threshold)
    levers = [name for name in LEVERS if name in grids]
    combination = None
    best = (z0, {})
    for size in range(1, len(levers) + 1):
        for subset in itertools.combinations(levers, size):
            chosen = set(subset)
            total, changes = z0, {}
            for group, slot in best_of.items():
                part = frozenset(chosen.intersection(group))
                if part:
                    zi, group_changes = slot[part]
                    total += zi - z0
                    changes.update(group_changes)
            cost = sum(rules[name].cost for name in subset)
            if total < best[0] - 1e-12:
                best = (total, changes)
            if _under(total, threshold_shown):
                key = (cost, total, size)
                if combination is None or key < combination[0]:
                    combination = (key, changes)
    return z0, singles, combination, best


def _proposal(scorer: _Scorer, changes: Mapping, rules: Mapping[str, LeverRule]) -> Proposal:
    """The changes as a proposal, re-scored on its own by the served model (the figure shown is that one)."""
    features = scorer.features_of(changes)
    score = scorer.predictor.predict_one(features)
    return Proposal(
        tuple(Change(name, scorer.base_raw.get(name), changes[name]) for name in LEVERS if name in changes),
        score.proba,
        sum(rules[name].cost for name in changes),
        scorer.record(changes),
        features,
    )


def recommend(
    predictor, features: Mapping, raw: Mapping | None, rules: Mapping[str, LeverRule], count: int = 3
) -> Recourse:
    """The `count` single changes that lower the risk most, and the cheapest combination under the threshold."""
    rules = {name: check_rule(rule) for name, rule in rules.items()}
    scorer = _Scorer(predictor, features, raw)
    threshold = predictor.threshold
    z0, singles, combination, best = _search(scorer, rules, threshold, count)
    proba = _sigmoid(z0)
    if whole_percent(proba) < whole_percent(threshold):
        combination = None
    result = Recourse(
        proba,
        threshold,
        tuple(_proposal(scorer, changes, rules) for _, changes in singles),
        _proposal(scorer, combination[1], rules) if combination else None,
        None,
    )
    if combination is None and not result.below:
        best_proposal = _proposal(scorer, best[1], rules) if best[1] else None
        result = replace(result, best=best_proposal, binding=tuple(_binding(scorer, rules, threshold)))
    return result


def _binding(scorer: _Scorer, rules: Mapping[str, LeverRule], threshold: float) -> list[tuple[str, str]]:
    """The constraints which, relaxed one at a time, would let a combination reach the threshold."""
    found = []
    for name in LEVERS:
        rule = rules.get(name) or default_rules()[name]
        spec = raw_field(name)
        span = (spec.maximum - spec.minimum) if spec.minimum is not None else len(_order(name)) - 1
        relaxed = replace(rule, enabled=True, max_change=max(span, rule.step))
        if relaxed == rule:
            continue
        _, _, combination, _ = _search(scorer, {**rules, name: relaxed}, threshold, 0)
        if combination is not None:
            why = (
                "n'est pas autorisé dans le catalogue" if not rule.enabled else "est limité par l'écart maximal permis"
            )
            found.append((name, why))
    return found


# --- French ---------------------------------------------------------------------------------------------------


def describe_change(name: str, before, after) -> str:
    """One change in plain French, with the values before and after."""
    spec = raw_field(name)
    if name == "heure_supplementaires":
        return "supprimer les heures supplémentaires" if not after else "prévoir des heures supplémentaires"
    if name == "annees_depuis_la_derniere_promotion":
        return f"promouvoir (dernière promotion il y a {number(before)} an{'s' if before > 1 else ''})"
    if name == "revenu_mensuel":
        verb = "augmenter" if after > before else "baisser"
        return f"{verb} le salaire de {money(abs(after - before))} par mois ({money(before)} → {money(after)})"
    if name == "nb_formations_suivies":
        more = after - before
        if more > 0:
            return f"proposer {number(more)} formation{'s' if more > 1 else ''} de plus ({before} → {after})"
        return f"réduire les formations ({before} → {after})"
    label = spec.label[:1].lower() + spec.label[1:]
    if " : " in label:  # « Satisfaction : équipe » → « satisfaction (équipe) »
        label = label.replace(" : ", " (") + ")"
    return f"{label} : {display_raw_value(name, before)} → {display_raw_value(name, after)}"
