"""`flask --app futurisys data …` and `model …` commands."""
import json

import pytest
import sqlalchemy as sa

from futurisys.ml.data import REFERENCE_MD5, md5_hex
from futurisys.models import EmployeeDataset
from tests.conftest import make_app


@pytest.fixture
def plain_runner(bundle_dir):
    """A CLI runner for commands that need no database (run once, not once per database kind)."""
    return make_app("sqlite://", bundle_dir).test_cli_runner()


def test_data_export_writes_the_reference_csv(plain_runner, tmp_path):
    target = tmp_path / "dataset_final.csv"
    result = plain_runner.invoke(args=["data", "export", str(target)])
    assert result.exit_code == 0, result.output
    assert md5_hex(target.read_bytes()) == REFERENCE_MD5
    assert "1470 rows" in result.output


def test_data_load_is_idempotent_and_keeps_accents(runner, db):
    result = runner.invoke(args=["data", "load"])  # the session fixture loaded it already
    assert result.exit_code == 0 and "nothing to do" in result.output
    table = EmployeeDataset.__table__
    assert db.session.scalar(sa.select(sa.func.count()).select_from(table)) == 1470
    statuses = set(db.session.scalars(sa.select(table.c.statut_marital).distinct()))
    assert statuses == {"Célibataire", "Marié(e)", "Divorcé(e)"}
    assert db.session.scalar(sa.select(table.c.poste).where(table.c.id_employee == 2)) == "Assistant de Direction"
    leavers = db.session.scalar(sa.select(sa.func.count()).where(table.c.a_quitte_l_entreprise.is_(True)))
    assert leavers == 237


def test_data_load_restores_missing_rows(runner, db):
    table = EmployeeDataset.__table__
    with db.engine.begin() as connection:
        connection.execute(table.delete().where(table.c.id_employee.in_([1, 2, 4])))
    result = runner.invoke(args=["data", "load"])
    assert result.exit_code == 0 and "3 rows inserted" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(table)) == 1470


def test_model_train_writes_a_loadable_bundle(plain_runner, tmp_path, bundle_dir):
    out = tmp_path / "bundle"
    result = plain_runner.invoke(args=["model", "train", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "CV ROC AUC" in result.output and "threshold" in result.output
    meta = json.loads((out / "metadata.json").read_text())
    # Same data and settings, same version (the session bundle was trained the same way).
    assert meta["version"] == json.loads((bundle_dir / "metadata.json").read_text())["version"]
    assert (out / "xgboost.ubj").read_bytes() == (bundle_dir / "xgboost.ubj").read_bytes()


def test_model_pull_without_a_repository_is_a_usage_error(plain_runner):
    result = plain_runner.invoke(args=["model", "pull"])
    assert result.exit_code == 2
    assert "MODEL_REPO" in result.output
