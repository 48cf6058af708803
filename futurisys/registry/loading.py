"""The model as a Flask extension: the bundle is loaded once per app, when first needed, kept in `app.extensions`."""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app

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


def load_state(app: Flask) -> ModelState:
    """Load the configured bundle; never raises, the reason goes into the state."""
    source = bundle_location(app)
    try:
        if app.config.get("MODEL_REPO"):
            from futurisys.hub import fetch_bundle

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
        return slot.state

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
