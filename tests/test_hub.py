"""Model bundles and the Hugging Face Hub: `model push` against a local stand-in for the Hub API, and the offline
pull path (service start-up and `model pull`) from a prepared hub cache."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from pathlib import Path

import pytest
from huggingface_hub import constants
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.payloads import FEATURES
from tests.support import make_app

REPO = "futurisys/attrition"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class StandInHub:
    """The Hub API endpoints huggingface_hub 2.4.0 calls for `create_repo` + `upload_folder` (small files)."""

    def __init__(self):
        self.calls: list[tuple[str, str, str | None]] = []
        self.created: list[dict] = []
        self.files: dict[str, bytes] = {}
        self.commit_header: dict = {}

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.calls.append((request.method, request.path, request.headers.get("Authorization")))
        parts = request.path.strip("/").split("/")
        if request.path == "/api/repos/create":
            body = request.get_json()
            self.created.append(body)
            answer = {"url": f"{request.host_url}{body['organization']}/{body['name']}"}
        elif request.path == "/api/validate-yaml":
            answer = {}
        elif parts[:2] == ["api", "models"] and parts[4:5] == ["preupload"]:
            # "regular": the files travel inside the commit itself (no LFS/Xet storage to stand in for).
            answer = {
                "files": [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                    for f in request.get_json()["files"]
                ]
            }
        elif parts[:2] == ["api", "models"] and parts[4:5] == ["commit"]:
            assert request.mimetype == "application/x-ndjson"
            for line in request.get_data().splitlines():
                item = json.loads(line)
                if item["key"] == "header":
                    self.commit_header = item["value"]
                elif item["key"] == "file":
                    self.files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            answer = {"commitUrl": f"{request.host_url}{parts[2]}/{parts[3]}/commit/{COMMIT}", "commitOid": COMMIT}
        else:
            return Response(json.dumps({"error": "not in the stand-in"}), 404, content_type="application/json")(
                environ, start_response
            )
        return Response(json.dumps(answer), content_type="application/json")(environ, start_response)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """The stand-in served on 127.0.0.1 (a free port), with huggingface_hub pointed at it."""
    stand_in = StandInHub()
    server = make_server("127.0.0.1", 0, stand_in, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    # huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE into `constants` when it is imported.
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    # The client also asks for its agent registry (best effort, cached under HF_HOME): keep it out of ~/.cache.
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "agent_harnesses.json"))
    yield stand_in
    server.shutdown()
    thread.join()
    server.server_close()  # the listening socket, else a ResourceWarning when it is collected


@pytest.fixture
def hub_app(tmp_path, bundle_dir):
    """An app on a throw-away SQLite file (these tests touch no table)."""
    return make_app(f"sqlite:///{tmp_path / 'hub.db'}", bundle_dir)


def test_model_push_publishes_the_bundle(hub, hub_app, bundle_dir, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    result = hub_app.test_cli_runner().invoke(args=["model", "push", "--repo", REPO, "--bundle", str(bundle_dir)])
    assert result.exit_code == 0, result.output
    assert f"pushed to {REPO} (commit {COMMIT})" in result.output
    assert hub.created == [{"name": "attrition", "organization": "futurisys", "visibility": "private", "type": "model"}]
    bundle_files = {p.name: p.read_bytes() for p in bundle_dir.iterdir() if p.is_file()}
    assert hub.files == bundle_files and {"metadata.json", "linear.json", "xgboost.ubj"} <= set(hub.files)
    assert "Futurisys model bundle" in hub.commit_header["summary"]
    upload_calls = [call for call in hub.calls if call[1] != "/api/agent-harnesses"]
    assert [path for _, path, _ in upload_calls] == [
        "/api/repos/create",
        f"/api/models/{REPO}/preupload/main",
        f"/api/models/{REPO}/commit/main",
    ]
    assert {auth for _, _, auth in upload_calls} == {"Bearer hf_test_token"}


def test_model_push_public_repository(hub, hub_app, bundle_dir, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    args = ["model", "push", "--repo", REPO, "--bundle", str(bundle_dir), "--public"]
    assert hub_app.test_cli_runner().invoke(args=args).exit_code == 0
    assert hub.created[0]["visibility"] == "public"


def test_model_push_refuses_without_token_or_with_a_broken_bundle(hub, hub_app, bundle_dir, tmp_path, monkeypatch):
    runner = hub_app.test_cli_runner()
    monkeypatch.delenv("HF_TOKEN", raising=False)
    result = runner.invoke(args=["model", "push", "--repo", REPO, "--bundle", str(bundle_dir)])
    assert result.exit_code == 2 and "HF_TOKEN" in result.output
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    result = runner.invoke(args=["model", "push", "--repo", REPO, "--bundle", str(tmp_path)])
    assert result.exit_code == 1 and "metadata.json" in result.output
    assert [call for call in hub.calls if call[1] != "/api/agent-harnesses"] == []  # nothing was sent


def test_model_push_reports_hub_errors(hub, hub_app, bundle_dir, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.setattr(constants, "ENDPOINT", constants.ENDPOINT + "/nowhere")  # every call answers 404
    result = hub_app.test_cli_runner().invoke(args=["model", "push", "--repo", REPO, "--bundle", str(bundle_dir)])
    assert result.exit_code == 1 and f"cannot push to {REPO}" in result.output


def fill_hub_cache(cache: Path, bundle: Path, repo: str = REPO) -> Path:
    """The Hub cache layout snapshot_download leaves behind: blobs, refs/main and a snapshot of symlinks."""
    storage = cache / f"models--{repo.replace('/', '--')}"
    snapshot = storage / "snapshots" / COMMIT
    (storage / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    (storage / "refs").mkdir()
    (storage / "refs" / "main").write_text(COMMIT)
    for path in bundle.iterdir():
        content = path.read_bytes()
        blob = storage / "blobs" / hashlib.sha256(content).hexdigest()
        blob.write_bytes(content)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / path.name)
    return snapshot


@pytest.fixture
def offline_cache(tmp_path, monkeypatch) -> Path:
    """HF_HUB_OFFLINE=1 with an empty hub cache in tmp_path (env for children, constants for this process)."""
    cache = tmp_path / "hf-home" / "hub"
    cache.mkdir(parents=True)
    for name, value in (("HF_HUB_OFFLINE", "1"), ("HF_HOME", str(cache.parent)), ("HF_HUB_CACHE", str(cache))):
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HOME", str(cache.parent))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_service_loads_the_cached_bundle_offline(offline_cache, bundle_dir, tmp_path):
    fill_hub_cache(offline_cache, bundle_dir)
    app = make_app(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path / "unused", MODEL_REPO=REPO)
    client = app.test_client()
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.get_json()
    version = json.loads((bundle_dir / "metadata.json").read_text())["version"]
    assert ready.get_json()["model_version"] == version
    assert client.get("/model").get_json()["source"] == f"hf://{REPO}@main"


def test_model_pull_copies_the_cached_bundle(offline_cache, bundle_dir, tmp_path):
    fill_hub_cache(offline_cache, bundle_dir)
    app = make_app(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path / "unused", MODEL_REPO=REPO)
    out = tmp_path / "pulled"
    result = app.test_cli_runner().invoke(args=["model", "pull", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {p.name: p.read_bytes() for p in bundle_dir.iterdir()}


def test_empty_cache_offline_starts_without_a_model(offline_cache, tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path / "unused", MODEL_REPO=REPO)
    client = app.test_client()
    assert client.get("/health").status_code == 200
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert any(
        f"cannot fetch model bundle from hf://{REPO}@main" in reason and "offline" in reason.lower()
        for reason in ready.get_json()["reasons"]
    )
    assert client.post("/predict", json=FEATURES).status_code == 503
    result = app.test_cli_runner().invoke(args=["model", "pull"])
    assert result.exit_code == 1 and f"cannot fetch {REPO}@main" in result.output


def test_a_pulled_bundle_and_a_hub_first_start_enter_the_registry(offline_cache, bundle_dir, tmp_path):
    from flask_migrate import upgrade

    from futurisys.extensions import db
    from futurisys.registry import versions
    from futurisys.registry.models import ACTIVE, ModelVersion

    fill_hub_cache(offline_cache, bundle_dir)
    app = make_app(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path / "unused", MODEL_REPO=REPO)
    with app.app_context():
        upgrade()
        said = versions.register_configured(app)  # what the boot's `data prepare` does
        assert said.endswith("registered and made active"), said
        active = versions.alias_target(ACTIVE)
        assert (active.source, active.source_detail) == ("hub", f"{REPO}@main")
    result = app.test_cli_runner().invoke(args=["model", "pull", "--out", str(tmp_path / "pulled")])
    assert result.exit_code == 0 and "already registered as version #1" in result.output, result.output
    with app.app_context():
        assert db.session.query(ModelVersion).count() == 1
