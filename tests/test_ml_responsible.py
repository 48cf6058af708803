"""The responsible model: protected attributes out of the score, exact per-feature curves, fairness and calibration."""

import json

import numpy as np
import pytest

from futurisys.domain.schema import FEATURES, feature
from futurisys.ml import fairness, shape
from futurisys.ml.encoding import FeatureEncoder
from futurisys.ml.predictor import Predictor
from futurisys.ml.train import TrainSettings, fit, with_protected
from tests.payloads import FEATURES as SAMPLE

PROTECTED_VALUES = {
    "genre": ["F", "M"],
    "statut_marital": ["Célibataire", "Marié(e)", "Divorcé(e)"],
    "age": [18, 23, 41, 60],
}


@pytest.fixture(scope="module")
def predictor(bundle_dir):
    return Predictor.load(bundle_dir)


@pytest.fixture(scope="module")
def protected_predictor(reference_features):
    """The comparison variant fitted on all the reference data (what `model train --with-protected` fits)."""
    records, target = reference_features
    return fit(FeatureEncoder().encode_many(records), np.array(target), with_protected(TrainSettings()))


def variations(record):
    """`record` with every combination of the protected attributes' values."""
    return [
        {**record, "genre": g, "statut_marital": s, "age": a}
        for g in PROTECTED_VALUES["genre"]
        for s in PROTECTED_VALUES["statut_marital"]
        for a in PROTECTED_VALUES["age"]
    ]


def test_records_differing_only_in_protected_attributes_get_the_same_probability(predictor, reference_features):
    records, _ = reference_features
    for record in [SAMPLE, *records[:50]]:
        probabilities = {predictor.predict_one(v).proba for v in variations(record)}
        assert len(probabilities) == 1, record
        assert len({s.proba for s in predictor.predict_many(variations(record))}) == 1


def test_the_comparison_variant_does_use_them(protected_predictor):
    # Without this the invariance test above could pass for a reason that has nothing to do with the exclusion.
    assert len({protected_predictor.predict_one(v).proba for v in variations(SAMPLE)}) > 1


def test_protected_attributes_are_never_drivers(predictor, reference_features):
    records, _ = reference_features
    for record in [SAMPLE, *records[:200]]:
        drivers = {d["feature"] for d in predictor.top_drivers(record, count=30)}
        assert drivers.isdisjoint(fairness.PROTECTED_FEATURES)
        assert len(drivers) == 27
    contributions, _ = predictor.contributions(records)
    protected = [predictor.encoder.feature_names.index(name) for name in fairness.PROTECTED_FEATURES]
    assert np.all(contributions[:, protected] == 0.0)


def test_metadata_records_the_exclusion_and_both_variants(bundle_dir):
    meta = json.loads((bundle_dir / "metadata.json").read_text())
    assert meta["excluded_features"] == ["genre", "statut_marital", "age"]
    without, with_all = meta["variants"]["without_protected"], meta["variants"]["with_protected"]
    # The goals for the default model, and the same figures as the bundle's own metrics.
    assert without["cv_roc_auc_mean"] >= 0.85 and without["cv_pr_auc_mean"] >= 0.65
    assert without["ece"] <= 0.03
    figures = {k: v for k, v in without.items() if k != "flag_rates"}
    assert {k: meta["metrics"][k] for k in figures} == figures
    assert without["flag_rates"]["genre"] == {row["group"]: row["flag_rate"] for row in meta["fairness"]["genre"]}
    assert set(with_all["flag_rates"]["tranche_age"]) == {"<30", "30-44", "45+"}
    assert with_all != without and with_all["cv_roc_auc_mean"] >= 0.845
    assert meta["calibration"]["ece"] == without["ece"]
    assert set(meta["fairness"]) == {"genre", "statut_marital", "tranche_age"}
    assert [row["group"] for row in meta["fairness"]["tranche_age"]] == ["<30", "30-44", "45+"]
    assert sum(row["n"] for row in meta["fairness"]["genre"]) == meta["training_rows"]


def test_tables_reproduce_xgboost_and_terms_add_up_to_the_log_odds(predictor, reference_features):
    records, _ = reference_features
    matrix = predictor.encoder.encode_many(records)
    log_odds = predictor.log_odds_many(matrix)
    # XGBoost sums 2,000 leaves in float32: the step tables (float64) agree to that precision.
    np.testing.assert_allclose(log_odds, predictor.log_odds_native(matrix), atol=2e-5, rtol=0)
    terms = predictor.feature_terms(matrix)
    np.testing.assert_allclose(terms.sum(axis=1) + predictor.base, log_odds, atol=1e-9, rtol=0)
    # Centred on the training data: the average employee's terms are zero.
    np.testing.assert_allclose(terms.mean(axis=0), 0.0, atol=1e-9)


def test_curves_plus_base_are_the_models_log_odds(predictor, reference_features):
    records, _ = reference_features
    template = {**records[7], "heure_supplementaires": not records[7]["heure_supplementaires"]}
    sample = records[::7]
    total = np.full(len(sample), predictor.base)
    for spec in FEATURES:
        values = [record[spec.name] for record in sample]
        # The curve is read at each record's own value but from another record: only additivity makes them agree.
        total += shape.feature_curve(predictor, spec.name, values, template)
    np.testing.assert_allclose(total, predictor.log_odds_many(predictor.encoder.encode_many(sample)), atol=1e-6, rtol=0)


def test_curve_values_cover_categories_and_numbers():
    assert shape.curve_values("category", feature("genre").values, []) == ["F", "M"]
    assert shape.curve_values("bool", None, []) == [False, True]
    assert shape.curve_values("integer", None, [3, 1, 3, 2]) == [1, 2, 3]
    grid = shape.curve_values("integer", None, list(range(1000)))
    assert len(grid) == shape.MAX_CURVE_POINTS and grid[0] == 0 and grid[-1] == 999
    assert shape.curve_values("number", None, [1.5, 0.25]) == [0.25, 1.5]


def test_a_deeper_booster_is_refused():
    import xgboost

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    booster = xgboost.train(
        {"max_depth": 2, "objective": "binary:logistic", "nthread": 1},
        xgboost.DMatrix(x, label=(x[:, 0] * x[:, 1] > 0)),
        num_boost_round=3,
    )
    with pytest.raises(ValueError, match="not additive"):
        shape.StumpTables(booster, 3)


def test_group_table_matches_a_hand_computation():
    target = np.array([1, 0, 0, 1, 1, 0, 0, 0])
    proba = np.array([0.9, 0.6, 0.1, 0.4, 0.7, 0.2, 0.3, 0.05])
    groups = np.array(["A", "A", "A", "A", "B", "B", "B", "B"], dtype=object)
    a, b = fairness.group_table(target, proba, groups, threshold=0.5)
    # A: flagged 0.9 (leaver) and 0.6 (stayer); leavers 0.9 and 0.4; stayers 0.6 and 0.1.
    # ROC AUC A: pairs (leaver > stayer) 0.9>0.6, 0.9>0.1, 0.4>0.1, not 0.4>0.6 -> 3/4.
    assert a == pytest.approx(
        {
            "group": "A",
            "n": 4,
            "base_rate": 0.5,
            "mean_proba": 0.5,
            "roc_auc": 0.75,
            "flag_rate": 0.5,
            "precision": 0.5,
            "recall": 0.5,
            "calibration_gap": 0.0,
            "flag_ratio": 1.0,
            "below_four_fifths": False,
            # bins: 0.1 -> [0.1,0.2) obs 0, 0.4 -> obs 1, 0.6 -> obs 0, 0.9 -> obs 1: |.1|+|.6|+|.6|+|.1| over 4
            "ece": (0.1 + 0.6 + 0.6 + 0.1) / 4,
        }
    )
    # B: only 0.7 flagged (a leaver); one leaver out of four; flag rate 1/4 = half of A's -> below 4/5.
    assert b == pytest.approx(
        {
            "group": "B",
            "n": 4,
            "base_rate": 0.25,
            "mean_proba": 0.3125,
            "roc_auc": 1.0,
            "flag_rate": 0.25,
            "precision": 1.0,
            "recall": 1.0,
            "calibration_gap": 0.0625,
            "flag_ratio": 0.5,
            "below_four_fifths": True,
            # bins: 0.05 -> obs 0, 0.2 -> obs 0, 0.3 -> obs 0, 0.7 -> obs 1
            "ece": (0.05 + 0.2 + 0.3 + 0.3) / 4,
        }
    )


def test_group_table_counts_employees_over_repeats_and_leaves_undefined_figures_empty():
    target = np.tile([0, 0, 1], 2)
    proba = np.array([0.1, 0.2, 0.3, 0.15, 0.25, 0.35])
    groups = np.tile(np.array(["solo", "solo", "autre"], dtype=object), 2)
    autre, solo = fairness.group_table(target, proba, groups, threshold=0.9, repeats=2)
    assert (autre["n"], solo["n"]) == (1, 2)
    assert solo["roc_auc"] is None and solo["recall"] is None  # no leaver in the group
    assert solo["precision"] is None and solo["flag_rate"] == 0.0  # nobody flagged
    assert solo["flag_ratio"] is None and not solo["below_four_fifths"]


def test_reliability_bins_and_ece():
    target = [0, 0, 1, 1, 1]
    proba = [0.05, 0.15, 0.12, 0.95, 1.0]
    report = fairness.reliability(target, proba)
    assert [(b["lower"], b["n"]) for b in report["bins"]] == [(0.0, 1), (0.1, 2), (0.9, 2)]
    assert report["bins"][1]["mean_proba"] == pytest.approx(0.135)
    assert report["bins"][1]["observed_rate"] == 0.5
    assert report["ece"] == pytest.approx((0.05 + 2 * (0.5 - 0.135) + 2 * (1 - 0.975)) / 5)


def test_age_bands_and_groups():
    assert [fairness.age_band(a) for a in (18, 29, 30, 44, 45, 60)] == ["<30", "<30", "30-44", "30-44", "45+", "45+"]
    groups = fairness.groups_of([{"genre": "F", "statut_marital": "Marié(e)", "age": 31}])
    assert {k: v.tolist() for k, v in groups.items()} == {
        "genre": ["F"],
        "statut_marital": ["Marié(e)"],
        "tranche_age": ["30-44"],
    }


def test_the_final_fit_is_byte_identical_to_the_bundle(bundle_dir, reference_features, tmp_path):
    records, target = reference_features
    refit = fit(FeatureEncoder().encode_many(records), np.array(target), TrainSettings())
    refit.booster.save_model(str(tmp_path / "xgboost.ubj"))
    assert (tmp_path / "xgboost.ubj").read_bytes() == (bundle_dir / "xgboost.ubj").read_bytes()
    assert json.dumps(refit.linear, indent=1) == (bundle_dir / "linear.json").read_text(encoding="utf-8")


def test_folds_give_the_same_figures_in_worker_processes_and_in_one(reference_features):
    from dataclasses import replace

    from futurisys.ml.train import cross_validate_variants

    records, target = reference_features
    matrix, target = FeatureEncoder().encode_many(records), np.array(target)
    quick = replace(TrainSettings(), xgboost_rounds=40, cv_splits=2, cv_repeats=1)
    variants = [quick, with_protected(quick)]
    calls = []
    serial = cross_validate_variants(matrix, target, variants, workers=1, progress=lambda: calls.append(1))
    parallel = cross_validate_variants(matrix, target, variants, workers=2)
    assert len(calls) == 4
    for one, other in zip(serial, parallel, strict=False):
        assert np.array_equal(one["out_of_fold"], other["out_of_fold"])
        assert np.array_equal(one["scores"], other["scores"])
    assert not np.array_equal(serial[0]["out_of_fold"], serial[1]["out_of_fold"])


@pytest.mark.parametrize("flag, excluded", [([], ["genre", "statut_marital", "age"]), (["--with-protected"], [])])
def test_model_train_chooses_the_variant_and_reports_both(bundle_dir, tmp_path, monkeypatch, flag, excluded):
    from futurisys.ml import train
    from tests.support import make_app

    meta = json.loads((bundle_dir / "metadata.json").read_text())
    chosen = {}

    def fake_train_bundle(out, settings, progress, workers):
        chosen.update(settings=settings, workers=workers)
        progress()
        return {**meta, "excluded_features": list(settings.excluded_features)}

    monkeypatch.setattr(train, "train_bundle", fake_train_bundle)
    result = (
        make_app("sqlite://", bundle_dir)
        .test_cli_runner()
        .invoke(args=["model", "train", "--out", str(tmp_path), *flag])
    )
    assert result.exit_code == 0, result.output
    assert list(chosen["settings"].excluded_features) == excluded and chosen["workers"] >= 1
    roc = meta["variants"]["with_protected"]["cv_roc_auc_mean"]
    assert "without protected: CV ROC AUC" in result.output and f"with protected: CV ROC AUC {roc:.4f}" in result.output
    assert "statut_marital: flag rate below 4/5 of the most flagged group for Marié(e), Divorcé(e)" in result.output
