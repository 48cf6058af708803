"""PSI on synthetic data: identical populations do not drift, shifted ones do, categories and empty bins work."""

import numpy as np
import pandas as pd
import pytest

from futurisys.ml import drift


def test_psi_of_known_shares():
    expected = 0.6 * np.log(0.8 / 0.2) - 0.6 * np.log(0.2 / 0.8)  # (0.8-0.2)ln(4) + (0.2-0.8)ln(1/4)
    assert drift.psi([0.2, 0.8], [0.8, 0.2]) == pytest.approx(expected)
    assert drift.psi([0.5, 0.5], [0.5, 0.5]) == 0.0


def test_empty_bin_gives_a_finite_large_psi():
    value = drift.psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])
    assert np.isfinite(value) and value > 2


def test_quantile_bins_hold_a_tenth_of_the_reference_each():
    reference = np.arange(1000, dtype=float)
    edges = drift.quantile_edges(reference)
    assert len(edges) == 9
    assert drift.bin_shares(reference, edges) == pytest.approx([0.1] * 10, abs=0.002)


def test_repeated_values_collapse_bins():
    edges = drift.quantile_edges([1, 1, 1, 1, 2, 2, 3])
    assert list(edges) == [1.0, 2.0]  # observed values: whole-number bins for an integer feature


def test_same_distribution_is_stable_and_a_shift_is_flagged():
    rng = np.random.default_rng(0)
    reference = pd.Series(rng.normal(40, 8, 5000))
    same = drift.numeric_drift("age", reference, pd.Series(rng.normal(40, 8, 2000)))
    shifted = drift.numeric_drift("age", reference, pd.Series(rng.normal(48, 8, 2000)))
    assert same.psi < drift.MODERATE and same.level == "stable"
    assert shifted.psi > drift.SIGNIFICANT and shifted.level == "fort"
    assert len(shifted.bins) == 10 and sum(b.reference for b in shifted.bins) == pytest.approx(1)
    assert shifted.bins[0].label.startswith("moins de") and shifted.bins[-1].label.endswith("et plus")


def test_levels():
    assert [drift.level(v) for v in (0.05, 0.1, 0.15, 0.2, 0.25)] == ["stable", "modere", "modere", "modere", "fort"]


def test_categorical_shares_side_by_side_including_unseen_categories():
    reference = pd.Series(["F"] * 40 + ["M"] * 60)
    recent = pd.Series(["F"] * 70 + ["M"] * 30)
    result = drift.categorical_drift("genre", reference, recent, ("F", "M", "X"), {"F": "Femme", "M": "Homme"})
    shares = {b.key: (b.label, b.reference, b.recent) for b in result.bins}
    assert shares["F"] == ("Femme", pytest.approx(0.4), pytest.approx(0.7))
    assert shares["X"] == ("X", 0.0, 0.0)
    assert result.categorical and result.psi == pytest.approx(drift.psi([0.4, 0.6, 0], [0.7, 0.3, 0]))
    assert result.level == "fort"


def test_boolean_feature_is_categorical_and_report_keeps_every_column():
    reference = pd.DataFrame({"heure_supplementaires": [True, False] * 50, "age": np.arange(100)})
    recent = pd.DataFrame({"heure_supplementaires": [True] * 10, "age": np.arange(10)})
    report = drift.drift_report(
        reference,
        recent,
        {"heure_supplementaires": (True, False)},
        {"heure_supplementaires": {True: "Oui", False: "Non"}},
    )
    assert [item.name for item in report] == ["heure_supplementaires", "age"]
    assert [b.label for b in report[0].bins] == ["Oui", "Non"] and report[0].bins[0].recent == 1.0
    assert report[1].bins[0].recent + report[1].bins[1].recent == pytest.approx(1) and report[1].level == "fort"


def test_empty_recent_data_does_not_crash():
    result = drift.numeric_drift("age", pd.Series(np.arange(100.0)), pd.Series([], dtype=float))
    assert np.isfinite(result.psi) and all(b.recent == 0 for b in result.bins)


def test_the_windows_are_whole_days_of_the_daily_stats(app, db):
    """« 30 derniers jours » is today and the 29 days before, in the stats' calendar: no day read in part."""
    from datetime import timedelta

    from futurisys.admin.forms import read_window
    from futurisys.storage import stats

    with app.test_request_context("/admin/drift?window=30d"):
        connection = db.session.connection()
        window = read_window()
        assert window.since == stats.day_start(connection, stats.today(connection) - timedelta(days=29))
    with app.test_request_context("/admin/drift?window=all"):
        assert read_window().since is None
