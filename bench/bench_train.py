"""Wall time of `flask --app futurisys model train`, on its own and beside two CPU-bound processes.

Usage: PYTHONPATH=. .venv/bin/python bench/bench_train.py [RUNS]   (default 2 runs of each; min–max reported)
The two hogs are `python -c 'while True: pass'` under `timeout 120`, started and ended by this script.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLASK = Path(sys.executable).with_name("flask")
HOG = ["timeout", "120", sys.executable, "-c", "while True: pass"]


def train_once(out: str) -> float:
    """Seconds of wall time for one `model train` into `out`."""
    started = time.perf_counter()
    subprocess.run([str(FLASK), "--app", "futurisys", "model", "train", "--out", out], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    return time.perf_counter() - started


def measure(runs: int, hogs: int) -> tuple[list[float], list[str]]:
    """Wall times of `runs` trainings with `hogs` busy loops beside them, and the load average after each."""
    times, loads = [], []
    for _ in range(runs):
        busy = [subprocess.Popen(HOG) for _ in range(hogs)]
        try:
            with tempfile.TemporaryDirectory(prefix="futurisys-bench-train-") as out:
                times.append(train_once(out))
        finally:
            for process in busy:
                process.terminate()
                process.wait()
        loads.append(" ".join(f"{value:.2f}" for value in os.getloadavg()))
    return times, loads


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    for hogs in (0, 2):
        times, loads = measure(runs, hogs)
        print(f"model train, {hogs} CPU hogs beside it: {min(times):.1f}–{max(times):.1f} s wall over {runs} runs "
              f"(load average after each run: {' | '.join(loads)})")


if __name__ == "__main__":
    main()
