"""/predict's p99 during a purge, by batch size and pause ratio: how fast a purge may go and keep /predict's pace.

One PostgreSQL database of its own (futurisys_bench_scale_<pid>_<size>, dropped at the end, even on failure),
filled as bench/scale.py fills it (--size predictions over the last year). On a real gunicorn (2 workers), for each
--configs entry BATCH:RATIO in turn: /predict's p99 alone, then during the CLI's purge of the inputs older than
--older-than days run with that batch size and pause ratio (a process of its own, as a job worker runs it; timed
from its first batch, so its start-up is not counted, for --seconds, then stopped). Prints each p99, its ratio to
the alone just before it, and the inputs deleted a second. Bounded: each purge is stopped after --seconds.

    PYTHONPATH=. .venv/bin/python bench/purge.py [--size 1000000] [--configs 2000:1,500:1,500:3] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import gunicorn  # noqa: E402
from bench.scale import PREDICTS, drop_site, fill, make_site, p99_ms  # noqa: E402


def older_than(database_url: str, cutoff: datetime) -> int:
    """The inputs stored before `cutoff`."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SET statement_timeout = 0"))
            return connection.scalar(sa.text("SELECT count(*) FROM inputs WHERE created_at < :c"), {"c": cutoff})
    finally:
        engine.dispose()


def timed_purge(database_url: str, bundle: str, base: str, session, args, batch: int, ratio: float):
    """Run one purge for `args.seconds` from its first batch; (p99 ms, calls, inputs deleted, seconds)."""
    cutoff = datetime.now(UTC) - timedelta(days=args.older_than)
    before = older_than(database_url, cutoff)
    env = {**os.environ, "DATABASE_URL": database_url, "MODEL_DIR": bundle, "LOG_LEVEL": "WARNING"}
    command = [str(Path(sys.executable).parent / "flask"), "--app", "futurisys", "predictions", "purge"]
    command += ["--older-than", f"{args.older_than}d", "--batch-size", str(batch), "--pause-ratio", str(ratio)]
    purge = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        first = purge.stderr.readline()  # "  N inputs deleted so far": its first batch is done
        assert "deleted so far" in first, first
        threading.Thread(target=purge.stderr.read, daemon=True).start()  # keeps its pipe from filling
        started = time.monotonic()
        deadline = started + args.seconds
        p99, calls = p99_ms(session, base, 10_000_000, lambda: purge.poll() is not None or time.monotonic() > deadline)
        seconds = time.monotonic() - started
    finally:
        purge.terminate()
        purge.wait()
    return p99, calls, before - older_than(database_url, cutoff), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--configs", default="2000:1,500:1,500:3,200:4", help="BATCH:PAUSE_RATIO, comma-separated")
    parser.add_argument("--seconds", type=float, default=20, help="how long each purge is timed")
    parser.add_argument("--older-than", type=int, default=30, help="the purges' age, in days")
    parser.add_argument("--bundle", help="model bundle folder (default: train one in a temporary folder)")
    args = parser.parse_args()
    import requests

    work = tempfile.TemporaryDirectory(prefix="futurisys-bench-purge-")
    bundle = args.bundle
    if not bundle:
        from futurisys.ml.train import train_bundle

        bundle = str(Path(work.name) / "model")
        train_bundle(bundle)
    app, engine, database = make_site(args.size, bundle)
    try:
        fill(args.size, app, engine)
        url = engine.url.render_as_string(hide_password=False)
        rows = []
        with gunicorn(url, bundle, workers=2, threads=4) as (base, _ready_s):
            session = requests.Session()
            p99_ms(session, base, 50)  # warm-up
            for config in args.configs.split(","):
                batch, ratio = int(config.split(":")[0]), float(config.split(":")[1])
                alone, _ = p99_ms(session, base, PREDICTS)
                during, calls, deleted, seconds = timed_purge(url, bundle, base, session, args, batch, ratio)
                rows.append((batch, ratio, alone, during, calls, deleted / seconds))
                print(
                    f"batch {batch}, pause ratio {ratio}: /predict p99 alone {alone:.1f} ms, during the purge "
                    f"{during:.1f} ms over {calls} calls (× {during / alone:.2f}); {deleted:,} inputs deleted in "
                    f"{seconds:.1f} s ({deleted / seconds:,.0f}/s)"
                )
        print(f"\n{'batch':>6} {'ratio':>6} {'alone ms':>9} {'purge ms':>9} {'×':>6} {'inputs/s':>9}")
        for batch, ratio, alone, during, _calls, rate in rows:
            print(f"{batch:>6} {ratio:>6} {alone:>9.1f} {during:>9.1f} {during / alone:>6.2f} {rate:>9,.0f}")
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        drop_site(app, database)
        work.cleanup()


if __name__ == "__main__":
    main()
