"""The predictor: same answers on both paths, additive contributions, clear errors on bad bundles."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from futurisys.ml.predictor import BundleError, Predictor
from futurisys.ml.train import TrainSettings, bundle_version

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def predictor(bundle_dir):
    return Predictor.load(bundle_dir)


def test_single_and_batch_paths_agree_on_every_reference_row(predictor, reference_features):
    records, _ = reference_features
    batch = np.array([s.proba for s in predictor.predict_many(records)])
    single = np.array([predictor.predict_one(r).proba for r in records])
    assert np.abs(batch - single).max() <= 1e-6
    assert [s.label for s in predictor.predict_many(records)] == [predictor.predict_one(r).label for r in records]


def test_contributions_add_up_to_the_log_odds(predictor, reference_features):
    records, _ = reference_features
    contributions, base = predictor.contributions(records)
    assert contributions.shape == (1470, 30)
    log_odds = predictor.log_odds_many(predictor.encoder.encode_many(records))
    np.testing.assert_allclose(contributions.sum(axis=1) + base, log_odds, atol=1e-4)


def test_labels_follow_the_stored_threshold(predictor, reference_features):
    records, target = reference_features
    scores = predictor.predict_many(records)
    assert all((s.label == "Part") == (s.proba >= predictor.threshold) for s in scores)
    assert {s.label for s in scores} == {"Reste", "Part"}
    # The model separates leavers from stayers on its training data (a sanity check, not the CV figure).
    leavers = np.mean([s.proba for s, t in zip(scores, target, strict=False) if t])
    stayers = np.mean([s.proba for s, t in zip(scores, target, strict=False) if not t])
    assert leavers > 2 * stayers


def test_metadata_holds_what_the_bundle_promises(bundle_dir):
    meta = json.loads((bundle_dir / "metadata.json").read_text())
    assert meta["class_labels"] == {"0": "Reste", "1": "Part"}
    assert meta["training_data_md5"] == "9eedbae8e9b34a02ec492270cb7e2f71"
    assert len(meta["features"]) == 30
    for key in ("cv_roc_auc_mean", "cv_roc_auc_std", "cv_pr_auc_mean", "brier", "precision", "recall", "f1"):
        assert key in meta["metrics"]
    assert meta["metrics"]["cv_roc_auc_mean"] >= 0.845
    assert meta["metrics"]["cv_pr_auc_mean"] >= 0.62
    assert 0.05 < meta["threshold"] < 0.5
    assert {"xgboost", "scikit-learn", "numpy"} <= set(meta["library_versions"])


def test_version_depends_only_on_data_and_settings(bundle_dir):
    meta = json.loads((bundle_dir / "metadata.json").read_text())
    assert meta["version"] == bundle_version(TrainSettings(), meta["training_data_md5"])
    assert bundle_version(TrainSettings(linear_c=1.0), meta["training_data_md5"]) != meta["version"]


def test_missing_bundle_is_a_clear_error(tmp_path):
    with pytest.raises(BundleError, match="metadata.json is missing"):
        Predictor.load(tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["features"].pop(), "features do not match"),
        (lambda m: m["library_versions"].update(xgboost="1.7.6"), "trained with xgboost 1.7.6"),
    ],
)
def test_incompatible_bundle_is_a_clear_error(bundle_dir, tmp_path, change, message):
    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    change(meta)
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=message):
        Predictor.load(copy)


def test_corrupt_booster_is_a_clear_error(bundle_dir, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir, copy)
    (copy / "xgboost.ubj").write_bytes(b"not a model")
    with pytest.raises(BundleError, match="unreadable XGBoost model"):
        Predictor.load(copy)


def test_loading_a_bundle_leaves_scikit_learn_unloaded_and_importable(bundle_dir):
    """XGBoost's scikit-learn integration (half of the boot) is skipped; scikit-learn still imports afterwards."""
    script = textwrap.dedent(f"""
        import sys
        from futurisys.ml.predictor import Predictor
        Predictor.load({str(bundle_dir)!r})
        print("sklearn" in sys.modules, "scipy.stats" in sys.modules)
        from sklearn.metrics import roc_auc_score
        print(roc_auc_score([0, 1], [0.2, 0.8]))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert run.stdout.split() == ["False", "False", "1.0"]
