"""Risk bands: the one definition of how a probability of departure reads for HR staff."""

from __future__ import annotations

from dataclasses import dataclass

from futurisys.formatting import whole_percent


@dataclass(frozen=True)
class RiskBand:
    """A named range of probability of departure [lower, upper)."""

    key: str
    label: str
    lower: float
    upper: float
    explanation: str


# Cut-offs: the base rate of departures in the reference data is 16 %. Below 15 % the risk is at or under the
# norm; from 40 % up an employee is more than twice as likely to leave as the average.
BANDS = (
    RiskBand("faible", "Faible", 0.0, 0.15, "moins de 15 % : au niveau ou en dessous du taux moyen de départ (16 %)"),
    RiskBand("modere", "Modéré", 0.15, 0.40, "de 15 % à 40 % : au-dessus de la moyenne, à surveiller"),
    RiskBand(
        "eleve", "Élevé", 0.40, 1.0000001, "40 % et plus : plus de deux fois le taux moyen, à traiter en priorité"
    ),
)


def risk_band(probability: float) -> RiskBand:
    """The band of a probability of departure, read as the whole percentage every page shows (0.1496 → 15 %)."""
    if not 0 <= probability <= 1:
        raise ValueError(f"probability out of [0, 1]: {probability}")
    shown = whole_percent(probability)
    for band in BANDS[:-1]:
        if shown < round(band.upper * 100):
            return band
    return BANDS[-1]
