"""Writers of the embedded SQLite file take turns: nothing lost under concurrency, a bounded wait, a 503 past it."""

import fcntl
import os
from concurrent.futures import ThreadPoolExecutor

from futurisys.storage import sqlite_writes
from tests.payloads import FEATURES
from tests.support import counts, make_app, migrated_app


def test_concurrent_writers_of_two_processes_lose_nothing(tmp_path, bundle_dir):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    # Two apps on one file hold two lock files open, as two gunicorn workers do.
    apps = [migrated_app(url, bundle_dir), make_app(url, bundle_dir)]

    def post_ten(app):
        client = app.test_client()
        return [client.post("/predict", json=FEATURES).status_code for _ in range(10)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [status for result in pool.map(post_ten, apps * 4) for status in result]
    assert statuses == [200] * 80
    assert counts(apps[0]) == (80, 80)


def test_a_write_turn_held_elsewhere_gives_503_after_the_timeout_and_writes_nothing(tmp_path, bundle_dir):
    path = tmp_path / "held.db"
    app = migrated_app(f"sqlite:///{path}", bundle_dir, DB_STATEMENT_TIMEOUT=0.2)
    client = app.test_client()
    holder = os.open(f"{path}.writers", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        response = client.post("/predict", json=FEATURES)
        assert response.status_code == 503
        assert "Base de données indisponible" in response.get_json()["error"]
        assert counts(app) == (0, 0)
        fcntl.flock(holder, fcntl.LOCK_UN)
        assert client.post("/predict", json=FEATURES).status_code == 200
    finally:
        os.close(holder)
    assert counts(app) == (1, 1)


def test_only_an_sqlite_file_has_a_writer_queue(bundle_dir, database_url):
    assert sqlite_writes.EXTENSION_KEY not in make_app("sqlite://", bundle_dir).extensions
    app = make_app(database_url, bundle_dir)
    assert (sqlite_writes.EXTENSION_KEY in app.extensions) == database_url.startswith("sqlite")
