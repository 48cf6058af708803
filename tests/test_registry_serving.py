"""A promotion seen by every gunicorn worker of a real server within 5 s, without a restart, while a client posts
/predict continuously: no request fails, and every prediction is stored with the version that answered it."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.registry import versions
from futurisys.registry.models import ACTIVE
from futurisys.storage.models import Input, Prediction
from tests.payloads import FEATURES
from tests.test_deploy import free_port, owner_of, wait_until_ready
from tests.test_registry import variant_bundle

ROOT = Path(__file__).resolve().parent.parent
SWITCH_SECONDS = 5  # the bound: every worker serves a promoted version within it


@pytest.fixture
def server(database_url, bundle_dir, tmp_path):
    """gunicorn as in production (2 workers, the registry read every second), on this run's PostgreSQL database."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MODEL_DIR": str(bundle_dir),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "SECRET_KEY": "test-secret",
        "PREPARE_DATABASE": "1",  # registers the bundle as the first active version
        "ACCESS_LOG": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "REGISTRY_CHECK_SECONDS": "1",
        "MODEL_CACHE_DIR": str(tmp_path / "cache"),
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/ready", process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def one_connection_per_worker(port: int) -> dict[str, http.client.HTTPConnection]:
    """Keep-alive connections until two are held by two different worker processes (bounded)."""
    held, spare = {}, []
    for _ in range(60):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/health")
        assert connection.getresponse().read()
        owner = owner_of(connection.sock, str(port))
        if owner and owner not in held:
            held[owner] = connection
            if len(held) == 2:
                break
        else:
            spare.append(connection)
    for connection in spare:
        connection.close()
    assert len(held) == 2, f"connections all went to {list(held)}"
    return held


class Client(threading.Thread):
    """Posts /predict?details=true on each connection in turn until stopped, recording every answer."""

    def __init__(self, connections: dict[str, http.client.HTTPConnection]):
        super().__init__(daemon=True)
        self.connections = connections
        self.answers: list[tuple[str, str, int, str | None, float]] = []  # owner, request id, status, version, time
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        body = json.dumps(FEATURES)
        while not self.stop.is_set():
            for owner, connection in self.connections.items():
                request_id = uuid.uuid4().hex
                headers = {"Content-Type": "application/json", "X-Request-ID": request_id}
                try:
                    connection.request("POST", "/predict?details=true", body, headers)
                    answer = connection.getresponse()
                    status, payload = answer.status, json.loads(answer.read())
                except (OSError, http.client.HTTPException, ValueError):
                    status, payload = 0, {}
                with self.lock:
                    self.answers.append((owner, request_id, status, payload.get("model_version"), time.monotonic()))

    def versions_since(self, moment: float) -> dict[str, str]:
        """The last version each worker answered with after `moment`."""
        with self.lock:
            return {owner: version for owner, _, _, version, at in self.answers if at > moment}


def switch_seconds(client: Client, app, version_id: int, name: str, reason: str) -> float:
    """Promote a version from another process and time until both workers answer with it."""
    with app.app_context():
        versions.promote(ACTIVE, version_id, reason=reason, username="admin")
    moved = time.monotonic()
    while True:
        seen = client.versions_since(moved)
        if len(seen) == 2 and set(seen.values()) == {name}:
            return time.monotonic() - moved
        assert time.monotonic() - moved < 30, f"not switched after 30 s: {seen}"
        time.sleep(0.02)  # polling interval of the client's answers, not a wait on timing


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_every_worker_switches_within_5_s_without_a_failed_request(app, server, bundle_dir, tmp_path):
    with app.app_context():
        first = versions.alias_target(ACTIVE)
        assert first is not None, "the boot registered and activated the bundle"
        second, _ = versions.register_folder(
            variant_bundle(bundle_dir, tmp_path / "v2", "fx-bascule"), source="entrainement"
        )
        first_name, second_id = first.version, second.id
    client = Client(one_connection_per_worker(server))
    client.start()
    try:
        started = time.monotonic()
        while set(client.versions_since(started).values()) != {first_name} or len(client.versions_since(started)) < 2:
            assert time.monotonic() - started < 30
            time.sleep(0.02)  # both workers answering before the switch
        forward = switch_seconds(client, app, second_id, "fx-bascule", "Bascule sous charge")
        back = switch_seconds(client, app, first.id, first_name, "Retour arrière sous charge")
    finally:
        client.stop.set()
        client.join(30)
        for connection in client.connections.values():
            connection.close()
    assert forward <= SWITCH_SECONDS and back <= SWITCH_SECONDS, (forward, back)
    statuses = [status for _, _, status, _, _ in client.answers]
    assert statuses.count(200) == len(statuses) > 20, {s: statuses.count(s) for s in set(statuses)}
    answered = {request_id: version for _, request_id, _, version, _ in client.answers}
    with app.app_context():
        stored = dict(
            db.session.execute(
                sa.select(Input.request_id, Prediction.model_version).join(Prediction, Prediction.input_id == Input.id)
            ).all()
        )
    assert stored == answered  # every prediction stored, with the version that answered it
    assert {"fx-bascule", first_name} == set(answered.values())
