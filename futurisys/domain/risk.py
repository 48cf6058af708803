"""The risk scale HR reads: one rounded figure, compared with the model's alert threshold, gives one band.

Every page, filter, chart and export shows a probability of departure as `shown_percent` (a whole percentage,
half up) and finds its band by comparing that same figure with the equally rounded boundaries, so a figure is never
on the other side of the threshold from its band:

- « Faible » below the alert threshold (the model's decision threshold, stored with each prediction);
- « Modéré » from the threshold up to the high-risk boundary (setting `RISK_HIGH_FROM`, 40 % by default: about
  two and a half times the 16 % average rate of departure of the reference data);
- « Élevé » from that boundary up (from the threshold itself when the threshold is higher).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import current_app

from futurisys.domain.formatting import NBSP, whole_percent

#: Default of the `RISK_HIGH_FROM` setting: where « élevé » starts.
HIGH_RISK_FROM = 0.40
LABELS = {"faible": "Faible", "modere": "Modéré", "eleve": "Élevé"}


def shown_percent(probability: float) -> int:
    """The whole percentage every page, filter, chart and export shows for a probability (0.1762 → 18)."""
    return whole_percent(probability)


def at_least_percent(percent: float) -> float:
    """The smallest value of `probability * 100` whose shown percentage is at least `percent` (for SQL filters)."""
    return math.ceil(percent) - 0.5


def below_percent(percent: float) -> float:
    """The value `probability * 100` stays under for its shown percentage to be at most `percent`."""
    return math.floor(percent) + 0.5


@dataclass(frozen=True)
class RiskBand:
    """A named range of shown percentages [lower, upper) and what it means for HR."""

    key: str
    label: str
    lower: int
    upper: int
    explanation: str


@dataclass(frozen=True)
class RiskScale:
    """The three bands for one alert threshold and high-risk boundary, in shown (whole) percentages."""

    threshold: int
    high_from: int

    @property
    def bands(self) -> tuple[RiskBand, ...]:
        """Faible, modéré, élevé, with their French explanation (a band may be empty when the bounds meet)."""
        low, high = self.threshold, self.high_from
        return (
            RiskBand("faible", LABELS["faible"], 0, low, f"moins de {low}{NBSP}% : en dessous du seuil d'alerte"),
            RiskBand(
                "modere",
                LABELS["modere"],
                low,
                high,
                f"de {low}{NBSP}% à {high - 1}{NBSP}% : à partir du seuil d'alerte, à surveiller",
            ),
            RiskBand("eleve", LABELS["eleve"], high, 101, f"{high}{NBSP}% et plus : à traiter en priorité"),
        )

    def band(self, probability: float) -> RiskBand:
        """The band of a probability, found from its shown percentage."""
        if not 0 <= probability <= 1:
            raise ValueError(f"probability out of [0, 1]: {probability}")
        return self.band_at(shown_percent(probability))

    def band_at(self, shown: int) -> RiskBand:
        """The band of a shown (whole) percentage."""
        faible, modere, eleve = self.bands
        return faible if shown < self.threshold else modere if shown < self.high_from else eleve

    def position(self, probability: float) -> str:
        """ "En dessous", "Au niveau" or "Au-dessus" du seuil d'alerte, from the shown figures."""
        shown = shown_percent(probability)
        return "En dessous" if shown < self.threshold else "Au niveau" if shown == self.threshold else "Au-dessus"


def risk_scale(threshold: float, high_from: float = HIGH_RISK_FROM) -> RiskScale:
    """The scale of a model's alert threshold (a probability) and the high-risk boundary (a probability)."""
    low = shown_percent(threshold)
    return RiskScale(low, max(shown_percent(high_from), low))


def risk_band(probability: float, threshold: float, high_from: float = HIGH_RISK_FROM) -> RiskBand:
    """The band of `probability` for the alert `threshold` it was scored with."""
    return risk_scale(threshold, high_from).band(probability)


def scale_for(threshold: float) -> RiskScale:
    """The scale of `threshold` with the application's `RISK_HIGH_FROM` setting."""
    return risk_scale(threshold, current_app.config.get("RISK_HIGH_FROM", HIGH_RISK_FROM))


def band_for(probability: float, threshold: float) -> RiskBand:
    """The band of a stored prediction (its probability and the threshold it was scored with), app setting."""
    return scale_for(threshold).band(probability)
