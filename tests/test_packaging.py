"""Packaging: the Dockerfile lints clean and the Space front matter agrees with it."""
import re
import shutil
import subprocess
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
    assert boot.index("model train") < boot.index("PREPARE_DATABASE=") < boot.index("exec \"$GUNICORN\"")
    wsgi = (ROOT / "wsgi.py").read_text()
    assert wsgi.index("prepare_database()") < wsgi.index("db.engine.dispose()") < wsgi.index("model_store.state(app)")
