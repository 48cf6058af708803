"""What any neighbour costs /predict's p99 on this machine: alone, then beside one CPU-bound process (nice 0, 19).

The floor under bench/scale.py's and bench/purge.py's ratios: an admin page or a purge cannot cost /predict's p99
less than a process that only spins. One PostgreSQL database of its own (--size predictions, dropped at the end),
a real gunicorn (2 workers); --rounds rounds of: p99 alone, then beside `python -c "while True: pass"` at each
niceness (killed after its p99). Bounded: PREDICTS calls per p99.

    PYTHONPATH=. .venv/bin/python bench/neighbour.py [--size 10000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import gunicorn  # noqa: E402
from bench.scale import PREDICTS, drop_site, fill, make_site, p99_ms  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    import requests

    from futurisys.ml.train import train_bundle

    work = tempfile.TemporaryDirectory(prefix="futurisys-bench-neighbour-")
    bundle = str(Path(work.name) / "model")
    train_bundle(bundle)
    app, engine, database = make_site(args.size, bundle)
    try:
        fill(args.size, app, engine)
        with gunicorn(engine.url.render_as_string(hide_password=False), bundle, workers=2, threads=4) as (base, _):
            session = requests.Session()
            p99_ms(session, base, 50)  # warm-up
            for round_number in range(1, args.rounds + 1):
                for nice in (0, 19):
                    alone, _ = p99_ms(session, base, PREDICTS)
                    spinner = subprocess.Popen(["nice", "-n", str(nice), sys.executable, "-c", "while True: pass"])
                    try:
                        beside, _ = p99_ms(session, base, PREDICTS)
                    finally:
                        spinner.kill()
                        spinner.wait()
                    print(
                        f"round {round_number}, nice {nice}: /predict p99 alone {alone:.1f} ms, beside one spinning "
                        f"process {beside:.1f} ms (× {beside / alone:.2f})"
                    )
    finally:
        drop_site(app, database)
        work.cleanup()


if __name__ == "__main__":
    main()
