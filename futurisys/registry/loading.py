"""The model as a Flask extension: the bundle is loaded once per app, when first needed, kept in `app.extensions`.

The registry's `actif` alias, when set, says which stored version is served (and `challenger`, which one is scored
in the shadow); MODEL_DIR/MODEL_REPO give the bundle of a first start. Every REGISTRY_CHECK_SECONDS, one request
of each process reads the aliases (one small query) and loads a version that changed; the others go on with the
predictor they hold, so a request in flight finishes on the version it started with.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app, has_app_context

from futurisys.ml.predictor import BundleError, Predictor

EXTENSION_KEY = "futurisys.model"
log = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    """No model is loaded: predictions cannot be made (answered with 503)."""


@dataclass
class ModelState:
    """What was loaded for one app, and from where, or why nothing was."""

    predictor: Predictor | None
    source: str
    error: str | None = None
    #: The registry versions served (None: the configured folder or Hub bundle, before any registration).
    served: object | None = None
    challenger: Predictor | None = None
    challenger_served: object | None = None

    def same_aliases(self, aliases: dict) -> bool:
        """Whether `aliases` (registry.versions.served_aliases) name the versions this state serves."""
        return aliases.get("actif") == self.served and aliases.get("challenger") == self.challenger_served


def bundle_location(app: Flask) -> str:
    """Where this app takes its bundle from (a folder, or hf://repo@revision)."""
    if app.config.get("MODEL_REPO"):
        return f"hf://{app.config['MODEL_REPO']}@{app.config['MODEL_REVISION']}"
    return str(model_dir(app))


def model_dir(app: Flask) -> Path:
    """The configured local model folder (default: `<instance>/model`)."""
    return Path(app.config.get("MODEL_DIR") or Path(app.instance_path) / "model")


def bundle_stamp(folder: Path) -> tuple:
    """What identifies a bundle folder's current files (name, inode, size, modification time of each)."""
    stamp = []
    for path in sorted(folder.iterdir()):
        if path.is_file():
            status = path.stat()
            stamp.append((path.name, status.st_ino, status.st_size, status.st_mtime_ns))
    return tuple(stamp)


@functools.lru_cache(maxsize=4)
def _load_unchanged(folder: Path, stamp: tuple) -> Predictor:
    return Predictor.load(folder)


def load_predictor(folder: Path) -> Predictor:
    """The bundle in `folder`, loaded once per process while its files stay the same.

    Apps of one process share it (the tests build hundreds of apps on one bundle); new files, after `model train`
    or `model pull`, give a new stamp and a fresh load. A predictor is never modified once loaded.
    """
    try:
        stamp = bundle_stamp(folder)
    except OSError:
        return Predictor.load(folder)  # no folder: Predictor.load says so
    return _load_unchanged(folder, stamp)


def _context(app: Flask):
    """An app context of `app`, unless one is current already."""
    if has_app_context() and current_app._get_current_object() is app:
        return contextlib.nullcontext()
    return app.app_context()


def read_aliases(app: Flask) -> dict | None:
    """The registry's aliases (None when the registry cannot be read: not migrated yet, database down)."""
    from futurisys.extensions import db
    from futurisys.registry.versions import served_aliases

    try:
        with _context(app), db.engine.connect() as connection:
            return served_aliases(connection)
    except Exception as exc:  # noqa: BLE001 — no table yet, database unreachable: the configured bundle serves
        log.debug("model registry not read: %s", type(exc).__name__)
        return None


def registry_state(app: Flask, aliases: dict) -> ModelState:
    """The state serving the registry's `actif` version (and its challenger); raises when one cannot be loaded."""
    from futurisys.registry.versions import load_version

    with _context(app):
        predictor, served = load_version(app, aliases["actif"].version_id)
        challenger = challenger_served = None
        if "challenger" in aliases and aliases["challenger"] != aliases["actif"]:
            challenger, challenger_served = load_version(app, aliases["challenger"].version_id)
    log.info("model %s loaded from the registry", predictor.version)
    return ModelState(predictor, f"registre:{served.version}", None, served, challenger, challenger_served)


def load_state(app: Flask) -> ModelState:
    """Load the registry's active version, else the configured bundle; never raises, the reason goes into the state."""
    aliases = read_aliases(app)
    if aliases and "actif" in aliases:
        try:
            return registry_state(app, aliases)
        except Exception as exc:  # noqa: BLE001 — a stored version that does not load: say so, serve the folder
            log.warning("registry version not loaded (%s): serving the configured bundle", exc)
    return configured_state(app)


def configured_state(app: Flask) -> ModelState:
    """Load the configured bundle (MODEL_DIR or MODEL_REPO); never raises, the reason goes into the state."""
    source = bundle_location(app)
    try:
        if app.config.get("MODEL_REPO"):
            from futurisys.registry.hub import fetch_bundle

            folder = fetch_bundle(app.config["MODEL_REPO"], app.config["MODEL_REVISION"])
        else:
            folder = model_dir(app)
        predictor = load_predictor(Path(folder))
    except BundleError as exc:
        log.warning("model not loaded: %s", exc)
        return ModelState(None, source, str(exc))
    except Exception as exc:  # the Hub client raises many kinds (offline, not found, auth, network)
        log.warning("model not loaded from %s: %s", source, exc)
        return ModelState(None, source, f"cannot fetch model bundle from {source}: {type(exc).__name__}: {exc}")
    log.info("model %s loaded from %s", predictor.version, source)
    return ModelState(predictor, source)


@dataclass
class LazyModel:
    """One app's model slot: empty until something scores, then loaded once (thread-safe)."""

    state: ModelState | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    checked_at: float = 0.0  # time.monotonic() of the last reading of the registry's aliases


class ModelStore:
    """Flask extension that owns the predictor of each app it is bound to.

    Loading is deferred to the first use, so CLI commands that do not score (`--help`, `db`, `data`, `users`,
    `apikeys`) never pay for it; gunicorn loads it in the arbiter before forking (wsgi.py).
    """

    def __init__(self, app: Flask | None = None):
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register an empty model slot on `app`."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("ModelStore is already registered on this app")
        app.extensions[EXTENSION_KEY] = LazyModel()

    @staticmethod
    def loaded(app: Flask | None = None) -> bool:
        """Whether `app` has loaded (or tried to load) its bundle yet."""
        return (app or current_app).extensions[EXTENSION_KEY].state is not None

    @staticmethod
    def state(app: Flask | None = None) -> ModelState:
        """The model state of `app` (default: the current app), loading the bundle on first use."""
        app = app or current_app._get_current_object()
        slot = app.extensions[EXTENSION_KEY]
        if slot.state is None:
            with slot.lock:
                if slot.state is None:
                    slot.state = load_state(app)
                    slot.checked_at = time.monotonic()
            return slot.state
        # One thread checks while the others go on with the state they have (never waiting on the check).
        due = time.monotonic() - slot.checked_at >= app.config["REGISTRY_CHECK_SECONDS"]
        if due and slot.lock.acquire(blocking=False):
            try:
                slot.checked_at = time.monotonic()
                slot.state = _switched(app, slot.state)
            finally:
                slot.lock.release()
        return slot.state

    @staticmethod
    def challenger_of(predictor: Predictor, app: Flask | None = None) -> Predictor | None:
        """The challenger scored in the shadow of `predictor` (None when none is set, or the state moved on)."""
        app = app or current_app._get_current_object()
        state = app.extensions[EXTENSION_KEY].state
        return state.challenger if state is not None and state.predictor is predictor else None

    def forget(self, app: Flask | None = None) -> None:
        """Read the aliases on the next use (after a promotion in this process: no need to wait for the check)."""
        (app or current_app._get_current_object()).extensions[EXTENSION_KEY].checked_at = 0.0

    def reload(self, app: Flask | None = None) -> ModelState:
        """Load the bundle again (after `model train` or `model pull`)."""
        app = app or current_app._get_current_object()
        slot = app.extensions[EXTENSION_KEY]
        with slot.lock:
            slot.state = load_state(app)
        return slot.state

    @property
    def predictor(self) -> Predictor:
        """The current app's predictor, or ModelUnavailable."""
        state = self.state()
        if state.predictor is None:
            raise ModelUnavailable(state.error or "no model loaded")
        return state.predictor


def _switched(app: Flask, state: ModelState) -> ModelState:
    """The state to serve after reading the aliases: `state` itself while they did not move (or cannot be read)."""
    aliases = read_aliases(app)
    if aliases is None or state.same_aliases(aliases) or "actif" not in aliases:
        return state
    try:
        return registry_state(app, aliases)
    except Exception as exc:  # noqa: BLE001 — the new version does not load: keep serving the one in hand
        log.warning(
            "registry version not loaded (%s): version %s still served",
            exc,
            state.predictor and state.predictor.version,
        )
        return state
