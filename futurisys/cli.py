"""`flask --app futurisys …` commands: data, model."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from futurisys.domain.schema import REFERENCE_ROWS
from futurisys.extensions import db
from futurisys.storage.db_check import explain, shown

data_cli = AppGroup("data", help="The reference dataset.")
model_cli = AppGroup("model", help="Model bundles: train, pull from and push to the Hugging Face Hub.")


@data_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_command(path: str) -> None:
    """Write the 32-column reference dataset as CSV (byte-identical to the original dataset_final.csv)."""
    from futurisys.ml.data import md5_hex, reference_csv_bytes

    content = reference_csv_bytes()
    Path(path).write_bytes(content)
    rows = content.count(b"\n") - 1
    click.echo(f"{path}: {rows} rows, md5 {md5_hex(content)}")


@data_cli.command("load")
def load_command() -> None:
    """Fill `employees_dataset` from the reference data (idempotent: only missing rows are inserted)."""
    click.echo(load_reference_rows())


@data_cli.command("prepare")
def prepare_command() -> None:
    """Apply the migrations, then load the reference data if rows are missing (what gunicorn does at boot)."""
    prepare_database()


def prepare_database(report: Callable[[str], None] = click.echo) -> None:
    """Bring the schema to the latest revision, fill the reference data and create the first admin account.

    Idempotent, in the current app. The first account is generated (and printed once) when FIRST_ADMIN=generate;
    its lines are always printed on the terminal, never given to `report` (a logger, at boot): they hold a password.
    """
    from flask_migrate import upgrade

    from futurisys.auth.accounts import bootstrap_admin

    upgrade()
    report(load_reference_rows())
    from futurisys.registry.versions import register_configured

    said = register_configured(current_app)
    if said:
        report(said)
    lines = bootstrap_admin(generate=os.environ.get("FIRST_ADMIN") == "generate")
    if len(lines) == 1:
        report(lines[0])  # a remark, no password
    else:
        for line in lines:
            click.echo(line)


def load_reference_rows() -> str:
    """Insert the reference rows `employees_dataset` lacks (the dataset is only read when some are missing); say so."""
    from futurisys.storage.models import EmployeeDataset

    table = EmployeeDataset.__table__
    present = set(db.session.execute(db.select(table.c.id_employee)).scalars())
    if len(present) < REFERENCE_ROWS:
        from futurisys.ml.data import python_value, reference_frame

        rows = [row for row in reference_frame().to_dict("records") if row["id_employee"] not in present]
        with db.engine.begin() as connection:
            if rows:
                connection.execute(table.insert(), [{k: python_value(v) for k, v in row.items()} for row in rows])
        return f"employees_dataset in {database_shown()}: {len(rows)} rows inserted, {len(present)} already present"
    return f"employees_dataset in {database_shown()}: {len(present)} rows already present, nothing to do"


def database_shown() -> str:
    """The current app's database, password hidden: every command that writes names the database it wrote to."""
    return shown(db.engine.url)


@model_cli.command("train")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Bundle folder (default: MODEL_DIR).")
@click.option(
    "--with-protected",
    is_flag=True,
    help="Train the comparison variant that also scores genre, marital status and age.",
)
def train_command(out_dir: str | None, with_protected: bool) -> None:
    """Cross-validate both variants (5x5), fit the chosen one on all the data and write a model bundle."""
    from futurisys.ml import train
    from futurisys.registry.loading import model_dir

    settings = train.with_protected(train.TrainSettings()) if with_protected else train.TrainSettings()
    out = Path(out_dir) if out_dir else model_dir(current_app)
    workers = train.free_cores()
    fits = 2 * settings.cv_splits * settings.cv_repeats + 1
    with click.progressbar(
        length=fits,
        label=f"Cross-validating both variants and fitting ({workers} process{'es' if workers > 1 else ''})",
        show_eta=True,
    ) as bar:
        metadata = train.train_bundle(out, settings, progress=lambda: bar.update(1), workers=workers)
    metrics, variants = metadata["metrics"], metadata["variants"]
    click.echo(f"bundle {metadata['version']} written to {out}")
    _register(out, "installation", None)
    excluded = ", ".join(metadata["excluded_features"]) or "none"
    click.echo(f"features left out of the score: {excluded}")
    for name, figures in variants.items():
        click.echo(
            f"{name.replace('_', ' ')}: CV ROC AUC {figures['cv_roc_auc_mean']:.4f} ± "
            f"{figures['cv_roc_auc_std']:.4f}, PR AUC {figures['cv_pr_auc_mean']:.4f} ± "
            f"{figures['cv_pr_auc_std']:.4f}, Brier {figures['brier']:.4f}, ECE {figures['ece']:.4f}"
        )
    click.echo(
        f"threshold {metadata['threshold']} ({metadata['threshold_rule']}): precision "
        f"{metrics['precision']:.3f}, recall {metrics['recall']:.3f}, F1 {metrics['f1']:.3f}"
    )
    for attribute, rows in metadata["fairness"].items():
        below = [str(row["group"]) for row in rows if row["below_four_fifths"]]
        if below:
            click.echo(f"{attribute}: flag rate below 4/5 of the most flagged group for {', '.join(below)}")


@model_cli.command("pull")
@click.option("--repo", default=None, help="Hub model repository (default: MODEL_REPO).")
@click.option("--revision", default=None, help="Branch, tag or commit (default: MODEL_REVISION).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Copy the bundle here (default: MODEL_DIR).")
def pull_command(repo: str | None, revision: str | None, out_dir: str | None) -> None:
    """Fetch a bundle from the Hugging Face Hub (HF_HUB_OFFLINE and the hub cache are honoured)."""
    import shutil

    from futurisys.ml.predictor import BundleError, Predictor
    from futurisys.registry.hub import fetch_bundle
    from futurisys.registry.loading import model_dir

    repo = repo or current_app.config.get("MODEL_REPO")
    if not repo:
        raise click.UsageError("no repository: pass --repo or set MODEL_REPO")
    revision = revision or current_app.config.get("MODEL_REVISION") or "main"
    try:
        folder = fetch_bundle(repo, revision)
        version = Predictor.load(folder).version
    except BundleError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # offline without a cached copy, unknown repo, no network...
        raise click.ClickException(f"cannot fetch {repo}@{revision}: {type(exc).__name__}: {exc}") from None
    out = Path(out_dir) if out_dir else model_dir(current_app)
    shutil.copytree(folder, out, dirs_exist_ok=True)
    click.echo(f"bundle {version} from {repo}@{revision} copied to {out}")
    _register(out, "hub", f"{repo}@{revision}")


@model_cli.command("push")
@click.option("--repo", required=True, help="Hub model repository, owner/name (created if missing).")
@click.option(
    "--bundle", "bundle_dir", type=click.Path(exists=True, file_okay=False), help="Bundle folder (default: MODEL_DIR)."
)
@click.option(
    "--private/--public", default=True, show_default=True, help="Visibility of the repository when it is created."
)
def push_command(repo: str, bundle_dir: str | None, private: bool) -> None:
    """Publish a model bundle to the Hugging Face Hub (write token from HF_TOKEN)."""
    import os

    from futurisys.ml.predictor import BundleError, Predictor
    from futurisys.registry.hub import push_bundle
    from futurisys.registry.loading import model_dir

    folder = Path(bundle_dir) if bundle_dir else model_dir(current_app)
    try:
        version = Predictor.load(folder).version  # never publish a bundle the service could not load
    except BundleError as exc:
        raise click.ClickException(str(exc)) from None
    token = os.environ.get("HF_TOKEN")
    if not token:
        raise click.UsageError("set HF_TOKEN to a Hugging Face token with write access")
    try:
        commit = push_bundle(folder, repo, token=token, private=private)
    except Exception as exc:  # the Hub client raises many kinds (auth, unknown namespace, network...)
        raise click.ClickException(f"cannot push to {repo}: {type(exc).__name__}: {exc}") from None
    click.echo(f"bundle {version} pushed to {repo} (commit {commit})")


def _register(folder: Path, source: str, detail: str | None) -> None:
    """Store a bundle the command wrote as a registry version, when the database has the registry (say so)."""
    from futurisys.ml.predictor import BundleError
    from futurisys.registry.versions import register_folder

    try:
        version, created = register_folder(folder, source=source, detail=detail)
    except BundleError as exc:
        click.echo(f"not registered: {exc}")
        return
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        click.echo("not registered: the database has no model registry yet (`flask --app futurisys db upgrade`)")
        return
    if created:
        click.echo(f"registered as version #{version.id}: promote it from « Modèles » (/admin/modeles) to serve it")
    else:
        click.echo(f"already registered as version #{version.id}")


class DatabaseProblem(click.ClickException):
    """A command met a database error: shown as the one French line of `db_check.explain`, no traceback."""

    def show(self, file=None) -> None:
        click.echo(f"Erreur : {self.format_message()}", err=True)


def _guarded(callback: Callable) -> Callable:
    """`callback` with database errors turned into a DatabaseProblem naming the database."""

    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except sa.exc.DBAPIError as exc:
            # The command's app context is still pushed (Flask's with_appcontext keeps it until the command ends).
            url = current_app.config["SQLALCHEMY_DATABASE_URI"]
            raise DatabaseProblem(explain(exc, url, current_app.instance_path)) from None

    run.guards_database_errors = True
    return run


def guard(command: click.Command) -> click.Command:
    """Make `command` (and, for a group, each command it holds) end on one line when the database fails."""
    if isinstance(command, click.Group):
        if not getattr(command, "guards_database_errors", False):
            resolve = command.get_command
            command.get_command = lambda ctx, name: _guard_found(resolve(ctx, name))
            command.guards_database_errors = True
    elif command.callback is not None and not getattr(command.callback, "guards_database_errors", False):
        command.callback = _guarded(command.callback)
    return command


def _guard_found(command: click.Command | None) -> click.Command | None:
    return guard(command) if command is not None else None


def init_app(app) -> None:
    """Register the command groups on `app`; every command of the app, whoever registers it, is guarded."""
    app.cli.add_command(data_cli)
    app.cli.add_command(model_cli)
    guard(app.cli)
