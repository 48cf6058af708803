"""Types of departure, and which of them are the voluntary departure the model predicts (no Flask here)."""

from __future__ import annotations

#: Every type of exit HR can record, by code (CSV, JSON) with its French label.
KINDS = {
    "demission": "Démission",
    "rupture_conventionnelle_salarie": "Rupture conventionnelle (à l'initiative du salarié)",
    "rupture_conventionnelle_employeur": "Rupture conventionnelle (à l'initiative de l'employeur)",
    "licenciement": "Licenciement",
    "fin_cdd": "Fin de CDD",
    "fin_periode_essai_salarie": "Fin de période d'essai (à l'initiative du salarié)",
    "fin_periode_essai_employeur": "Fin de période d'essai (à l'initiative de l'employeur)",
    "retraite": "Retraite",
    "mutation_interne": "Mutation interne",
    "deces": "Décès",
}
#: The default of OUTCOMES_VOLUNTARY_KINDS: the exits the employee chose, which is what the model was trained on.
DEFAULT_VOLUNTARY = ("demission", "rupture_conventionnelle_salarie", "fin_periode_essai_salarie")
CODE_LENGTH = 40


def label(code: str) -> str:
    """The French label of a departure type (the code itself when unknown)."""
    return KINDS.get(code, code)


def _folded(text: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(plain.lower().replace("_", " ").replace("'", " ").replace("-", " ").split())


_BY_TEXT = {_folded(text): code for code, name in KINDS.items() for text in (code, name)}
_BY_TEXT.update({"rupture conventionnelle": None, "fin de periode d essai": None})  # ambiguous: who decided?


def parse_kind(text: str) -> tuple[str | None, str | None]:
    """(code, None) for a type written as its code or French label (any case or accents); (None, message) else."""
    folded = _folded(text or "")
    if not folded:
        return None, "Type de départ manquant."
    code = _BY_TEXT.get(folded)
    if code:
        return code, None
    if folded in _BY_TEXT:
        return None, f"« {text.strip()} » : précisez à l'initiative de qui (…_salarie ou …_employeur)."
    return None, f"Type de départ inconnu « {text.strip()[:40]} » ; attendu : {', '.join(KINDS)}."


def voluntary_kinds(setting) -> frozenset[str]:
    """The voluntary types from the setting (a list, or codes separated by commas); unknown codes are refused."""
    codes = [c.strip() for c in setting.split(",")] if isinstance(setting, str) else list(setting)
    codes = [c for c in codes if c]
    unknown = [c for c in codes if c not in KINDS]
    if unknown or not codes:
        raise ValueError(f"OUTCOMES_VOLUNTARY_KINDS: unknown or no departure types {unknown} (known: {list(KINDS)})")
    return frozenset(codes)
