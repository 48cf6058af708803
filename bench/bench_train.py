"""Wall time of `flask --app futurisys model train`, on its own and beside two CPU-bound processes.

Usage: PYTHONPATH=. .venv/bin/python bench/bench_train.py [RUNS]   (default 2 runs of each; min–max reported)
The two hogs are `python -c 'while True: pass'` under `timeout 120`, started and ended by this script (even when
interrupted). About 90 s with 2 runs (4 trainings of 16–28 s); no database.
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


def train_once(out: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, its worker processes included) of one `model train`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(FLASK), "--app", "futurisys", "model", "train", "--out", out],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"model train failed with exit code {process.returncode}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def measure(runs: int, hogs: int) -> tuple[list[float], list[float], list[str]]:
    """Wall and CPU times of `runs` trainings with `hogs` busy loops beside them, and the load average after each."""
    walls, cpus, loads = [], [], []
    for _ in range(runs):
        busy = [subprocess.Popen(HOG) for _ in range(hogs)]
        try:
            with tempfile.TemporaryDirectory(prefix="futurisys-bench-train-") as out:
                wall, cpu = train_once(out)
        finally:
            for process in busy:
                process.terminate()
                process.wait()
        walls.append(wall)
        cpus.append(cpu)
        loads.append(" ".join(f"{value:.2f}" for value in os.getloadavg()))
    return walls, cpus, loads


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    from bench.common import announce  # after the imports above: SIGTERM then ends the hogs too

    announce(f"model train, {runs} runs alone and {runs} beside two CPU hogs", runs * 45)
    for hogs in (0, 2):
        walls, cpus, loads = measure(runs, hogs)
        print(
            f"model train, {hogs} CPU hogs beside it: {min(walls):.1f}–{max(walls):.1f} s wall, "
            f"{min(cpus):.1f}–{max(cpus):.1f} s CPU over {runs} runs "
            f"(load average after each run: {' | '.join(loads)})"
        )


if __name__ == "__main__":
    main()
