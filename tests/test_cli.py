"""`flask --app futurisys data …` and `model …` commands."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from futurisys.extensions import db as _db
from futurisys.ml.data import REFERENCE_MD5, md5_hex
from futurisys.ml.predictor import Predictor
from futurisys.storage.models import EmployeeDataset
from tests.support import make_app

ROOT = Path(__file__).resolve().parent.parent


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


def test_model_train_writes_a_loadable_bundle(trained_bundle):
    # The run's bundle is trained once, by this command (tests/conftest.py): its output and files are checked here.
    out, output = trained_bundle
    assert "CV ROC AUC" in output and "threshold" in output
    meta = json.loads((out / "metadata.json").read_text())
    assert f"bundle {meta['version']} written to {out}" in output
    assert Predictor.load(out).version == meta["version"]


def test_commands_that_do_not_score_never_load_the_model(bundle_dir, tmp_path):
    # A fresh interpreter: whether XGBoost was imported at all is the proof (the model costs seconds to load).
    # `data prepare` is not among them: it registers the configured bundle, which it loads to check it first.
    script = (
        "import sys\n"
        "from futurisys import create_app\n"
        "from futurisys.extensions import model_store\n"
        f"app = create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path / 'cli.db'}', "
        f"'MODEL_DIR': '{bundle_dir}'}})\n"
        "runner = app.test_cli_runner()\n"
        "runner.invoke(args=['db', 'upgrade'])\n"
        "for args in (['--help'], ['db', '--help'], ['data', 'load'], ['apikeys', 'list']):\n"
        "    result = runner.invoke(args=args)\n"
        "    assert result.exit_code == 0, (args, result.output)\n"
        "print(model_store.loaded(app), 'xgboost' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_data_prepare_migrates_and_loads_in_one_command(bundle_dir, tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'fresh.db'}", bundle_dir)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["data", "prepare"])
    assert first.exit_code == 0 and "1470 rows inserted" in first.output, first.output
    again = runner.invoke(args=["data", "prepare"])
    assert again.exit_code == 0 and "nothing to do" in again.output
    with app.app_context():
        head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
        assert _db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == head


def test_model_pull_without_a_repository_is_a_usage_error(plain_runner):
    result = plain_runner.invoke(args=["model", "pull"])
    assert result.exit_code == 2
    assert "MODEL_REPO" in result.output
