"""Versions and aliases: a bundle folder stored as an immutable version, unpacked where it is served, and the
aliases moved by admins with a reason, each move kept in an append-only history.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from futurisys.domain.formatting import number
from futurisys.extensions import db
from futurisys.ml.compare import HIGHER_IS_BETTER, LOWER_IS_BETTER, below_four_fifths
from futurisys.ml.predictor import METADATA_FILE, BundleError, Predictor
from futurisys.registry.models import ACTIVE, AliasEvent, ModelAlias, ModelVersion
from futurisys.storage.models import utcnow
from futurisys.storage.sqlite_writes import write_turn

log = logging.getLogger(__name__)
VERSIONS, ALIASES, EVENTS = ModelVersion.__table__, ModelAlias.__table__, AliasEvent.__table__
#: A fixed date inside the zip: the same files always give the same bytes (and digest).
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
#: Tolerance under which two figures count as equal (they are rounded to 4 decimals).
_TIE = 0.0005


class PromotionRefused(ValueError):
    """A promotion that cannot be made as asked (no reason, unknown version, an alias moved meanwhile)."""


class ConfirmationNeeded(PromotionRefused):
    """A promotion with warnings, asked without « je confirme »: the warnings to show."""

    def __init__(self, warnings: list[str]):
        super().__init__("Confirmation requise.")
        self.warnings = warnings


def pack(folder: Path) -> bytes:
    """The bundle's files as one zip (sorted, fixed dates): its bytes never depend on when it was packed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
            archive.writestr(zipfile.ZipInfo(path.name, _ZIP_DATE), path.read_bytes())
    return buffer.getvalue()


def digest(content: bytes) -> str:
    """The sha256 of a bundle's bytes, in hex."""
    return hashlib.sha256(content).hexdigest()


def cache_dir(app) -> Path:
    """Where this process unpacks the versions it serves (default `<instance>/registry`)."""
    return Path(app.config.get("MODEL_CACHE_DIR") or Path(app.instance_path) / "registry")


def unpack(content: bytes, sha256: str, into: Path) -> Path:
    """The folder holding the bundle `content` (checked against `sha256`), unpacked once per machine.

    Written to a temporary folder then renamed: a worker never reads a half-written bundle, and two workers
    unpacking the same version at once both end with the same complete folder.
    """
    if digest(content) != sha256:
        raise BundleError(f"model version {sha256[:12]}: its stored bytes do not match their digest")
    folder = into / sha256
    if (folder / METADATA_FILE).exists():
        return folder
    into.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=into))
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for name in archive.namelist():
                if "/" in name or name.startswith("."):
                    raise BundleError(f"model version {sha256[:12]}: unexpected file {name!r} in its bundle")
                (staging / name).write_bytes(archive.read(name))
        try:
            os.rename(staging, folder)
        except OSError:  # another worker renamed its copy first: same bytes, keep that one
            if not (folder / METADATA_FILE).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def register_folder(
    folder: Path, *, source: str, detail: str | None = None, username: str | None = None, job_id: str | None = None
) -> tuple[ModelVersion, bool]:
    """Store the bundle in `folder` as a version (once: a version already stored is returned); (row, created)."""
    try:
        named = json.loads((Path(folder) / METADATA_FILE).read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        named = None  # Predictor.load below says what is wrong
    existing = db.session.scalar(sa.select(ModelVersion).where(ModelVersion.version == named)) if named else None
    if existing is not None:  # every start registers the configured bundle: no second load for one already stored
        return existing, False
    predictor = Predictor.load(folder)  # never register a bundle the service could not serve
    content = pack(folder)
    row = {
        "version": predictor.version,
        "sha256": digest(content),
        "bundle": content,
        "size": len(content),
        "bundle_metadata": json.loads((Path(folder) / METADATA_FILE).read_text(encoding="utf-8")),
        "source": source,
        "source_detail": detail,
        "training_job_id": job_id,
        "created_by": username,
        "created_at": utcnow(),
    }
    with write_turn(current_app), db.engine.begin() as connection:
        connection.execute(VERSIONS.insert(), row)
    db.session.expire_all()
    return db.session.scalar(sa.select(ModelVersion).where(ModelVersion.version == predictor.version)), True


@dataclass(frozen=True)
class Served:
    """What an alias points at: the version's id, name and digest."""

    version_id: int
    version: str
    sha256: str


def served_aliases(connection) -> dict[str, Served]:
    """Each set alias and its version, in one small query (run every few seconds by every worker)."""
    rows = connection.execute(
        sa.select(ALIASES.c.alias, VERSIONS.c.id, VERSIONS.c.version, VERSIONS.c.sha256).join(
            VERSIONS, VERSIONS.c.id == ALIASES.c.version_id
        )
    ).all()
    return {row.alias: Served(row.id, row.version, row.sha256) for row in rows}


def bundle_bytes(connection, version_id: int) -> tuple[bytes, str]:
    """A version's stored bundle and digest."""
    row = connection.execute(sa.select(VERSIONS.c.bundle, VERSIONS.c.sha256).where(VERSIONS.c.id == version_id)).one()
    return bytes(row.bundle), row.sha256


def load_version(app, version_id: int) -> tuple[Predictor, Served]:
    """Load a stored version into a predictor (unpacked into the cache folder first, once)."""
    from futurisys.registry.loading import load_predictor

    with db.engine.connect() as connection:
        content, sha256 = bundle_bytes(connection, version_id)
    predictor = load_predictor(unpack(content, sha256, cache_dir(app)))
    return predictor, Served(version_id, predictor.version, sha256)


def alias_target(alias: str) -> ModelVersion | None:
    """The version an alias points at now (None when unset)."""
    row = db.session.get(ModelAlias, alias)
    return db.session.get(ModelVersion, row.version_id) if row is not None and row.version_id else None


def figures_of(version: ModelVersion) -> dict:
    """The cross-validated figures and fairness ratios a version was trained with (from its metadata)."""
    meta = version.bundle_metadata
    metrics = meta.get("metrics", {})
    ratios = {
        attribute: {str(row["group"]): row.get("flag_ratio") for row in rows}
        for attribute, rows in (meta.get("fairness") or {}).items()
    }
    return {
        "roc_auc": metrics.get("cv_roc_auc_mean"),
        "pr_auc": metrics.get("cv_pr_auc_mean"),
        "brier": metrics.get("brier"),
        "ece": metrics.get("ece"),
        "flag_ratios": ratios,
    }


FIGURE_LABELS = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "brier": "score de Brier", "ece": "erreur de calibration"}


def _both(candidate: float, active: float) -> str:
    return f"{number(candidate, 4)} contre {number(active, 4)}"


def warnings_between(candidate: dict, active: dict) -> list[str]:
    """Why promoting `candidate` over `active` needs a confirmation: a worse figure, a group newly under 4/5."""
    found = []
    for name in HIGHER_IS_BETTER:
        if candidate.get(name) is not None and active.get(name) is not None and candidate[name] < active[name] - _TIE:
            found.append(f"{FIGURE_LABELS[name]} plus faible : {_both(candidate[name], active[name])}.")
    for name in LOWER_IS_BETTER:
        if candidate.get(name) is not None and active.get(name) is not None and candidate[name] > active[name] + _TIE:
            found.append(f"{FIGURE_LABELS[name]} plus élevé : {_both(candidate[name], active[name])}.")
    newly_below = below_four_fifths(candidate.get("flag_ratios", {})) - below_four_fifths(active.get("flag_ratios", {}))
    for attribute, group in sorted(newly_below):
        found.append(
            f"Équité : le groupe « {group} » ({attribute}) passe sous les quatre cinquièmes du taux de signalement "
            "le plus élevé."
        )
    return found


def comparison_of(candidate: ModelVersion, active: ModelVersion) -> tuple[dict, dict] | None:
    """The candidate's and the active version's figures on the same folds, when a training compared them."""
    from futurisys.jobs.models import Job

    if not candidate.training_job_id:
        return None
    job = db.session.get(Job, candidate.training_job_id)
    compared = (job.detail or {}).get("comparaison") if job is not None else None
    if not compared or compared.get("actif", {}).get("version_id") != active.id:
        return None
    return compared["nouveau"], compared["actif"]


def promotion_warnings(candidate: ModelVersion, active: ModelVersion | None) -> list[str]:
    """The warnings a promotion of `candidate` in place of `active` must be confirmed with (none for a first one)."""
    if active is None or active.id == candidate.id:
        return []
    pair = comparison_of(candidate, active)
    if pair is not None:
        return warnings_between(*pair)
    found = warnings_between(figures_of(candidate), figures_of(active))
    if found:
        found.append("Comparaison sur les validations croisées de chaque version, pas sur les mêmes blocs.")
    return found


def promote(
    alias: str,
    version_id: int | None,
    *,
    reason: str,
    username: str | None,
    expected_from: int | None = None,
    confirmed: bool = False,
) -> AliasEvent:
    """Point `alias` at a version (None unsets a challenger), with its reason, kept in the history.

    `expected_from` is the version the admin saw the alias on: when it moved meanwhile, nothing is changed. A
    promotion to `actif` with warnings needs `confirmed`; the warnings are kept with the move.
    """
    reason = (reason or "").strip()
    if not reason:
        raise PromotionRefused("Indiquez la raison de ce changement : elle est gardée dans l'historique.")
    if alias == ACTIVE and version_id is None:
        raise PromotionRefused("Le modèle actif ne peut pas être retiré : promouvez une autre version.")
    candidate = db.session.get(ModelVersion, version_id) if version_id is not None else None
    if version_id is not None and candidate is None:
        raise PromotionRefused("Version inconnue.")
    current = alias_target(alias)
    current_id = current.id if current is not None else None
    if expected_from is not None and expected_from != (current_id or 0):
        raise PromotionRefused("L'alias a changé entre-temps : relisez la page avant de recommencer.")
    warnings = promotion_warnings(candidate, alias_target(ACTIVE)) if alias == ACTIVE else []
    if warnings and not confirmed:
        raise ConfirmationNeeded(warnings)
    now = utcnow()
    with write_turn(current_app), db.engine.begin() as connection:
        moved = connection.execute(
            ALIASES.update()
            .where(ALIASES.c.alias == alias, ALIASES.c.version_id.is_not_distinct_from(current_id))
            .values(version_id=version_id, moved_at=now)
        ).rowcount
        if not moved:
            exists = connection.execute(sa.select(ALIASES.c.alias).where(ALIASES.c.alias == alias)).first()
            if exists is not None:
                raise PromotionRefused("L'alias a changé entre-temps : relisez la page avant de recommencer.")
            connection.execute(ALIASES.insert(), {"alias": alias, "version_id": version_id, "moved_at": now})
        event_id = connection.execute(
            EVENTS.insert().returning(EVENTS.c.id),
            {
                "alias": alias,
                "from_version_id": current_id,
                "to_version_id": version_id,
                "username": username,
                "reason": reason,
                "warnings": warnings or None,
                "moved_at": now,
            },
        ).scalar_one()
    db.session.expire_all()
    log.info("alias %s moved from version %s to %s", alias, current_id, version_id)
    return db.session.get(AliasEvent, event_id)


def history(limit: int = 50) -> list[AliasEvent]:
    """The latest alias moves, newest first."""
    return db.session.scalars(
        sa.select(AliasEvent).order_by(AliasEvent.moved_at.desc(), AliasEvent.id.desc()).limit(limit)
    ).all()


def register_configured(app) -> str | None:
    """At each start: the configured bundle (MODEL_DIR or MODEL_REPO) is a version, the active one if none is yet.

    What it did, in one line (None when there is no bundle to register: the boot then says why it cannot serve).
    """
    from futurisys.registry.loading import model_dir

    if app.config.get("MODEL_REPO"):
        from futurisys.registry.hub import fetch_bundle

        detail = f"{app.config['MODEL_REPO']}@{app.config['MODEL_REVISION']}"
        try:
            folder, source = fetch_bundle(app.config["MODEL_REPO"], app.config["MODEL_REVISION"]), "hub"
        except Exception:  # noqa: BLE001 — offline, unknown repository: the model's own loading reports it
            return None
    else:
        folder, source, detail = model_dir(app), "installation", None
    try:
        version, created = register_folder(folder, source=source, detail=detail)
    except BundleError:
        return None
    said = f"model registry: version {version.version} {'registered' if created else 'already registered'}"
    if alias_target(ACTIVE) is None:
        promote(ACTIVE, version.id, reason="Premier démarrage : le modèle de l'installation.", username=None)
        said += " and made active"
    return said
