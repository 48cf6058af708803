"""« Que faire ? » is exact: the proposals equal a brute-force search of the allowed grid, re-scored by the model."""

from __future__ import annotations

import itertools
import random

import pytest

from futurisys.domain.formatting import whole_percent
from futurisys.domain.schema import FEATURE_NAMES, RAW_NAMES
from futurisys.ml.data import raw_records
from futurisys.ml.features import derive_features
from futurisys.ml.predictor import Predictor
from futurisys.ml.recourse import (
    LEVERS,
    MOVES,
    LeverError,
    LeverRule,
    check_rule,
    default_rules,
    describe_change,
    lever_grid,
    raw_view,
    recommend,
)


@pytest.fixture(scope="module")
def predictor(bundle_dir):
    return Predictor.load(bundle_dir)


@pytest.fixture(scope="module")
def employees():
    return [{name: r[name] for name in RAW_NAMES} for r in raw_records()]


def small_rules(rng: random.Random) -> dict[str, LeverRule]:
    """A random catalogue whose full grid stays small enough to enumerate."""
    rules = {}
    for name, rule in default_rules().items():
        enabled = rng.random() < 0.7
        if name == "revenu_mensuel":
            rule = LeverRule(
                name, enabled, "hausse", max_change=rng.choice([300, 600]), step=300, cost=rng.randint(1, 5)
            )
        elif name.startswith("satisfaction_"):
            rule = LeverRule(
                name, enabled, rng.choice(["hausse", "deux"]), max_change=rng.choice([1, 2]), cost=rng.randint(1, 5)
            )
        else:
            rule = LeverRule(name, enabled, rule.direction, rule.max_change, rule.step, rng.randint(1, 5))
        rules[name] = rule
    return rules


def brute_force(predictor, raw, rules):
    """Every combination of allowed values: (best single (proba), cheapest combination under the threshold)."""
    grids = {name: [raw[name], *lever_grid(rules[name], raw[name])] for name in LEVERS}
    names = [n for n in LEVERS if len(grids[n]) > 1]
    records, costs, changed = [], [], []
    for combo in itertools.product(*(grids[n] for n in names)):
        changes = {n: v for n, v in zip(names, combo, strict=True) if v != raw[n]}
        records.append(derive_features({**raw, **changes}))
        costs.append(sum(rules[n].cost for n in changes))
        changed.append(changes)
    scores = predictor.predict_many(records)
    singles = [s.proba for s, c in zip(scores, changed, strict=True) if len(c) == 1]
    limit = whole_percent(predictor.threshold)
    under = [(cost, s.proba) for s, cost in zip(scores, costs, strict=True) if cost and whole_percent(s.proba) < limit]
    return min(singles, default=None), min(under, default=None), len(records)


def test_proposals_equal_a_brute_force_search(predictor, employees):
    rng = random.Random(27)
    checked = combos = 0
    for raw in rng.sample(employees, 60):
        rules = small_rules(rng)
        result = recommend(predictor, derive_features(raw), raw, rules)
        best_single, cheapest, size = brute_force(predictor, raw, rules)
        assert size <= 20_000
        before = predictor.predict_one(derive_features(raw)).proba
        assert result.proba == pytest.approx(before, abs=1e-12)
        if best_single is not None and best_single < before:
            assert result.singles[0].proba == pytest.approx(best_single, abs=1e-12)
        if result.below:
            assert result.combination is None
        elif cheapest is None:
            assert result.combination is None
        else:
            combos += 1
            assert (result.combination.cost, result.combination.proba) == pytest.approx(cheapest, abs=1e-12)
        proposals = [*result.singles, *([result.combination] if result.combination else [])]
        for proposal in proposals:
            # Re-scored by the served model from the what-if's raw record: the very figure shown.
            assert predictor.predict_one(derive_features(proposal.record)).proba == pytest.approx(
                proposal.proba, abs=1e-12
            )
            moved = {name for name in RAW_NAMES if proposal.record.get(name) != raw.get(name)}
            assert moved == {c.lever for c in proposal.changes}
            assert moved <= {name for name in LEVERS if rules[name].enabled}
        checked += 1
    assert checked == 60 and combos >= 5


def test_single_changes_rank_levers_by_the_risk_they_remove(predictor, employees):
    raw = next(r for r in employees if r["heure_supplementaires"])
    result = recommend(predictor, derive_features(raw), raw, default_rules())
    probas = [p.proba for p in result.singles]
    assert probas == sorted(probas) and len({p.changes[0].lever for p in result.singles}) == len(probas)
    assert all(p < result.proba for p in probas)


def test_a_raise_moves_the_income_per_year_features(predictor, employees):
    raw = next(r for r in employees if r["annee_experience_totale"] > 0 and r["annees_dans_l_entreprise"] > 0)
    rules = {name: LeverRule(name, enabled=False) for name in LEVERS}
    rules["revenu_mensuel"] = LeverRule("revenu_mensuel", max_change=3000, step=1000, cost=1)
    result = recommend(predictor, derive_features(raw), raw, rules, count=1)
    for proposal in [*result.singles, *([result.combination] if result.combination else [])]:
        after = proposal.features
        assert (
            after["revenu_par_annee_experience_totale"]
            == 12 * after["revenu_mensuel"] // raw["annee_experience_totale"]
        )


def test_moves_lists_every_feature_a_lever_changes(employees):
    raw = employees[0]
    before = derive_features(raw)
    for name in LEVERS:
        for value in lever_grid(LeverRule(name, direction="deux", max_change=2000, step=1), raw[name])[:5]:
            after = derive_features({**raw, name: value})
            moved = {f for f in FEATURE_NAMES if after[f] != before[f]}
            assert moved <= MOVES.get(name, {name})


def test_a_feature_payload_gets_the_same_proposals_as_its_raw_record(predictor, employees):
    for raw in employees[:30]:
        features = derive_features(raw)
        assert derive_features(raw_view(features)) == features
        from_raw = recommend(predictor, features, raw, default_rules())
        from_features = recommend(predictor, features, None, default_rules())
        assert [p.proba for p in from_raw.singles] == [p.proba for p in from_features.singles]


@pytest.mark.parametrize("name", ["genre", "age", "statut_marital", "distance_domicile_travail", "poste"])
def test_protected_attributes_and_context_are_never_levers(name):
    with pytest.raises(LeverError):
        check_rule(LeverRule(name))
    assert name not in LEVERS


@pytest.mark.parametrize(
    "rule",
    [
        LeverRule("revenu_mensuel", cost=0),
        LeverRule("revenu_mensuel", direction="vers"),
        LeverRule("revenu_mensuel", step=5, max_change=1),
    ],
)
def test_bad_rules_are_refused(rule):
    with pytest.raises(LeverError):
        check_rule(rule)


def test_unreachable_threshold_names_the_binding_constraint(predictor, employees):
    rules = {name: LeverRule(name, enabled=False) for name in LEVERS}
    rules["heure_supplementaires"] = LeverRule("heure_supplementaires", direction="baisse", cost=1)
    for raw in employees:
        result = recommend(predictor, derive_features(raw), raw, rules)
        if not result.below and result.combination is None and result.binding:
            break
    else:
        pytest.fail("no employee whose risk the overtime lever alone cannot bring down")
    assert all(why for _, why in result.binding)
    assert {lever for lever, _ in result.binding} <= set(LEVERS) - {"heure_supplementaires"}
    assert "heure_supplementaires" not in {lever for lever, _ in result.binding}


@pytest.mark.parametrize(
    ("name", "before", "after", "expected"),
    [
        ("heure_supplementaires", True, False, "supprimer les heures supplémentaires"),
        ("heure_supplementaires", False, True, "prévoir des heures supplémentaires"),
        ("annees_depuis_la_derniere_promotion", 3, 0, "promouvoir (dernière promotion il y a 3 ans)"),
        ("annees_depuis_la_derniere_promotion", 1, 0, "promouvoir (dernière promotion il y a 1 an)"),
        ("nb_formations_suivies", 1, 3, "proposer 2 formations de plus (1 → 3)"),
        ("nb_formations_suivies", 1, 2, "proposer 1 formation de plus (1 → 2)"),
        ("nb_formations_suivies", 3, 1, "réduire les formations (3 → 1)"),
    ],
)
def test_each_change_reads_in_plain_french(name, before, after, expected):
    """Overtime, promotion and training changes each get their own French phrase."""
    assert describe_change(name, before, after) == expected


def test_a_raise_and_a_satisfaction_change_read_with_their_values():
    """A raise names the amount per month; a satisfaction scale reads « satisfaction (équipe) : … → … »."""
    raise_text = describe_change("revenu_mensuel", 3000, 3300)
    assert raise_text.startswith("augmenter le salaire de ") and "par mois" in raise_text
    assert describe_change("revenu_mensuel", 3300, 3000).startswith("baisser le salaire de ")
    team = describe_change("satisfaction_employee_equipe", 1, 3)
    assert team.startswith("satisfaction (équipe) : ") and " → " in team


def test_a_proposal_phrase_joins_its_changes_with_a_capital(predictor, employees):
    """A combination reads as one French sentence: changes joined by « ; », first letter capitalised."""
    raw = next(r for r in employees if r["heure_supplementaires"])
    proposal = recommend(predictor, derive_features(raw), raw, default_rules()).singles[0]
    assert proposal.phrase[0].isupper()
    assert proposal.phrase.lower() == " ; ".join(c.phrase for c in proposal.changes).lower()
