"""The registry's costs on one gunicorn server (PostgreSQL, 3 workers × 3 threads), every figure a ratio to /health
measured in the same run:

- challenger: /predict ÷ /health at 8 connections without a challenger, then with one scored in the shadow (each
  prediction also scored by it and its probability stored), alternating runs, min–max and median;
- switch: seconds from a promotion (written by this script, another process) until every worker answers
  /predict?details=true with the promoted version, over a few promotions back and forth.

How long: about 2 minutes with the defaults (2 x --runs x 2 x --seconds, plus the switches). Its database and
server end with it, even when interrupted.

Usage: PYTHONPATH=. .venv/bin/python bench/bench_registry.py [--bundle DIR] [--runs 5] [--seconds 4] [--switches 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.bench_serving import WRK_LUA, load, span, wrk
from bench.common import announce, gunicorn, model_bundle, throwaway_database


def variant(bundle: str, folder: Path, name: str) -> Path:
    """A copy of `bundle` that scores differently (intercept moved) under its own version name."""
    import shutil

    shutil.copytree(bundle, folder)
    linear = json.loads((folder / "linear.json").read_text())
    linear["intercept"] += 0.3
    (folder / "linear.json").write_text(json.dumps(linear))
    meta = json.loads((folder / "metadata.json").read_text())
    meta["version"] = name
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


def ratios(base: str, script: Path, runs: int, seconds: float) -> list[float]:
    """/predict ÷ /health at 8 connections, `runs` alternating pairs."""
    found = []
    for _ in range(runs):
        health = wrk(f"{base}/health", seconds, 8)
        predict = wrk(f"{base}/predict", seconds, 8, script)
        assert predict["non_2xx"] == 0 and predict["timeouts"] == 0, predict
        found.append(predict["rps"] / health["rps"])
    return found


def served_versions(base: str, features: dict, tries: int = 24) -> set[str]:
    """The versions /predict answered with over `tries` new connections (spread over the workers)."""
    seen = set()
    for _ in range(tries):
        request = urllib.request.Request(
            f"{base}/predict?details=true",
            data=json.dumps(features).encode(),
            headers={"Content-Type": "application/json", "Connection": "close"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            seen.add(json.loads(answer.read())["model_version"])
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", help="model bundle folder (default: MODEL_DIR, instance/model, else train one)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--switches", type=int, default=4)
    args = parser.parse_args()
    announce("registry bench", 4 * args.runs * args.seconds + 10 * args.switches + 20)
    from futurisys import create_app
    from futurisys.domain.schema import RAW_NAMES
    from futurisys.ml.data import raw_records
    from futurisys.ml.features import derive_features
    from futurisys.registry import versions
    from futurisys.registry.models import ACTIVE, CHALLENGER

    features = derive_features({name: raw_records()[0][name] for name in RAW_NAMES})
    with tempfile.TemporaryDirectory() as folder, throwaway_database("registry") as url:
        work = Path(folder)
        bundle = model_bundle(args.bundle, work)
        script = work / "predict.lua"
        script.write_text(WRK_LUA % json.dumps(features))
        extra = {"PREPARE_DATABASE": "1", "REGISTRY_CHECK_SECONDS": "2", "MODEL_CACHE_DIR": str(work / "cache")}
        with gunicorn(url, bundle, 3, 3, **extra) as (base, _boot):
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MODEL_DIR": bundle, "MODEL_CACHE_DIR": str(work / "c")})
            with app.app_context():
                first = versions.alias_target(ACTIVE)
                second, _ = versions.register_folder(variant(bundle, work / "v2", "fx-bench-v2"), source="entrainement")
                first_id, first_name, second_id = first.id, first.version, second.id
            without = ratios(base, script, args.runs, args.seconds)
            with app.app_context():
                versions.promote(CHALLENGER, second_id, reason="bench", username="bench")
            time.sleep(3)  # past REGISTRY_CHECK_SECONDS: every worker has read the new alias (a bench, not a test)
            shadow = ratios(base, script, args.runs, args.seconds)
            with app.app_context():
                versions.promote(CHALLENGER, None, reason="bench", username="bench")
            print(
                f"challenger c=8 ({args.runs} alternating runs of {args.seconds:g} s, load {load()}): /predict ÷ "
                f"/health without a challenger {span(without, 3)} (median {statistics.median(without):.3f}), with "
                f"one in the shadow {span(shadow, 3)} (median {statistics.median(shadow):.3f}); with ÷ without "
                f"{statistics.median(shadow) / statistics.median(without):.3f}"
            )
            switches = []
            for number in range(args.switches):
                target_id, target = (second_id, "fx-bench-v2") if number % 2 == 0 else (first_id, first_name)
                with app.app_context():
                    versions.promote(ACTIVE, target_id, reason="bench", username="bench")
                moved = time.monotonic()
                while served_versions(base, features) != {target}:  # bounded by the check below
                    assert time.monotonic() - moved < 30, "not switched in 30 s"
                switches.append(time.monotonic() - moved)
            print(
                f"switch ({args.switches} promotions, REGISTRY_CHECK_SECONDS=2, 3 workers): every worker answering "
                f"with the promoted version after {span(switches, 2)} s (each reading: 24 requests on new connections)"
            )


if __name__ == "__main__":
    main()
