"""Packaging: the Dockerfile lints clean, the Space front matter agrees with it, the locks match pyproject.toml."""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_dockerfile_lints_clean():
    hadolint = shutil.which("hadolint") or str(Path(__import__("sys").executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.fail("hadolint is missing: pip install -r requirements-dev.txt")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_space_front_matter_matches_the_image():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    front = readme.split("---")[1]
    assert re.search(r"^sdk: docker$", front, re.M)
    port = re.search(r"^app_port: (\d+)$", front, re.M).group(1)
    assert f"PORT={port}" in (ROOT / "Dockerfile").read_text()


def test_start_script_execs_gunicorn_which_migrates_before_forking():
    boot = (ROOT / "scripts" / "boot.sh").read_text()
    assert boot.index("model train") < boot.index("PREPARE_DATABASE=") < boot.index('exec "$GUNICORN"')
    wsgi = (ROOT / "wsgi.py").read_text()
    assert wsgi.index("prepare_database(") < wsgi.index("db.engine.dispose()") < wsgi.index("model_store.state(app)")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _lock(name):
    """Pins of a pip-compile lock file: {normalised name: (version, [hashes])}."""
    text = (ROOT / name).read_text(encoding="utf-8")
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if match:
            pins[_normalised(match[1])] = (match[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return text, pins


def _normalised(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(requirements):
    # Extras (celery[redis]) name the same locked package: its extra's dependencies are locked on their own lines.
    return {_normalised(name.split("[")[0]): version for name, version in (r.split("==") for r in requirements)}


def test_build_system_is_pinned_setuptools():
    build = _pyproject()["build-system"]
    assert build["build-backend"] == "setuptools.build_meta"
    assert re.fullmatch(r"setuptools==[\d.]+", *build["requires"])


@pytest.mark.parametrize(("lock", "extra"), [("requirements.txt", None), ("requirements-dev.txt", "dev")])
def test_lock_files_are_compiled_from_pyproject_with_every_pin_hashed(lock, extra):
    project = _pyproject()["project"]
    declared = _declared(project["dependencies"] + (project["optional-dependencies"][extra] if extra else []))
    text, pins = _lock(lock)
    assert "pip-compile" in text and "--generate-hashes" in text and "pyproject.toml" in text
    assert ("--extra=dev" in text) == (extra == "dev")
    assert not re.search(r"^-r |^--index-url|^--extra-index-url|^--find-links", text, re.M)
    assert {name: version for name, version in declared.items() if pins.get(name, (None,))[0] != version} == {}
    assert [name for name, (_, hashes) in pins.items() if not hashes] == []
    requirement_lines = [line for line in text.splitlines() if re.match(r"[A-Za-z0-9]", line)]
    assert len(requirement_lines) == len(pins)


def test_runtime_lock_agrees_with_the_dev_lock():
    _, runtime = _lock("requirements.txt")
    _, dev = _lock("requirements-dev.txt")
    assert {name: pin for name, pin in runtime.items() if dev.get(name) != pin} == {}
    assert "pip-tools" in dev


def test_installs_check_hashes():
    venv = (ROOT / "scripts" / "venv.sh").read_text()
    installs = [line for line in venv.splitlines() if "pip install" in line]
    assert installs and all("--require-hashes" in line for line in installs)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^RUN pip install .*--require-hashes -r requirements.txt$", dockerfile, re.M)


def test_image_context_leaves_out_tests_caches_and_data():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    expected = {
        ".git",
        ".venv",
        "instance",
        "test-artifacts",
        "tests",
        "bench",
        "tools/**/node_modules",
        "**/*.db",
        "**/__pycache__",
        ".pytest_cache",
        ".ruff_cache",
        ".coverage",
        "htmlcov",
    }
    assert expected - ignored == set()
