"""Worst uploads to /lot under gunicorn: how long each takes to answer and how much it grows the worker.

One gunicorn worker on a throw-away PostgreSQL database; an HR account signed in. Each file is just under
MAX_CONTENT_LENGTH (16 MiB). Before each upload the worker's peak RSS is reset (/proc/PID/clear_refs, "5");
after it, the peak (VmHWM) minus the RSS before is the growth the upload caused. Prints, per file, the status,
seconds (min–max over the runs) and peak growth in MB (max over the runs), and /health's time in the same run.
About 15 s per run (3 runs by default), plus 20 s to train a bundle when none is given or found. Bounded: each
request times out after 60 s; all traffic to 127.0.0.1. Its PostgreSQL database (on BENCH_PG_ADMIN_URL's server)
and its gunicorn end with it, even when interrupted.

Usage: PYTHONPATH=. .venv/bin/python bench/batch_upload.py [--runs 3] [--bundle DIR]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.common import ROOT, announce, gunicorn, model_bundle, throwaway_database

LIMIT = 16 * 2**20 - 4096  # room for the multipart envelope
PASSWORD = "bench-mot-de-passe"


def files() -> dict[str, bytes]:
    """The uploads, each just under the body limit."""
    from futurisys.domain.schema import RAW_NAMES
    from futurisys.ml.data import raw_records

    header = ";".join(RAW_NAMES).encode() + b"\n"

    def fill(unit: bytes) -> bytes:
        return header + unit * ((LIMIT - len(header)) // len(unit))

    def valid(rows: int, padding: int = 0) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow(["reference_salarie", "commentaire", *RAW_NAMES])
        records = raw_records()
        for i in range(rows):
            record = records[i % len(records)]
            cells = ["Oui" if v is True else "Non" if v is False else str(v) for v in (record[n] for n in RAW_NAMES)]
            writer.writerow([f"R-{i}", "x" * padding, *cells])
        return out.getvalue().encode("utf-8")

    biggest_padding = (LIMIT - len(valid(10_000))) // 10_000
    return {
        "7.8 M one-character lines": fill(b"x\n"),
        "blank lines only": fill(b"\n"),
        "one 16 MB line": fill(b";"),
        "unclosed quote": header + b'"' + b"x" * (LIMIT - len(header) - 1),
        "10,000 valid lines": valid(10_000),
        f"10,000 valid lines + {biggest_padding} B comment": valid(10_000, biggest_padding),
    }


def worker_pid(database_url: str) -> int:
    """The gunicorn worker serving `database_url` (found by its environment: other servers may run here)."""
    mine, marker = set(), f"DATABASE_URL={database_url}\0".encode()
    for folder in Path("/proc").iterdir():
        try:
            if (
                folder.name.isdigit()
                and marker in (folder / "environ").read_bytes()
                and b"gunicorn" in (folder / "cmdline").read_bytes()
            ):
                mine.add(int(folder.name))
        except OSError:
            continue
    workers = [pid for pid in mine if int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) in mine]
    assert len(workers) == 1, workers
    return workers[0]


def memory(pid: int, key: str) -> float:
    """VmRSS or VmHWM of `pid`, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1)) / 1024


def signed_in(base: str) -> requests.Session:
    session = requests.Session()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', session.get(f"{base}/connexion", timeout=10).text)
    answer = session.post(
        f"{base}/connexion",
        data={"csrf_token": token.group(1), "username": "rh", "password": PASSWORD},
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.status_code
    return session


def upload(session: requests.Session, base: str, content: bytes) -> tuple[int, float]:
    page = session.get(f"{base}/lot", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    started = time.perf_counter()
    answer = session.post(
        f"{base}/lot", data={"csrf_token": token}, timeout=60, files={"fichier": ("lot.csv", content, "text/csv")}
    )
    return answer.status_code, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bundle")
    args = parser.parse_args()
    announce("worst uploads to /lot", 10 + 15 * args.runs)
    with tempfile.TemporaryDirectory(prefix="futurisys-bench-") as work, throwaway_database("upload") as url:
        run(url, model_bundle(args.bundle, Path(work)), args.runs)


def run(url: str, bundle: str, runs: int) -> None:
    """Serve `url` with gunicorn and time the uploads."""
    uploads = files()
    os.environ["SESSION_COOKIE_SECURE"] = "0"  # plain http on 127.0.0.1
    env = {**os.environ, "DATABASE_URL": url, "MODEL_DIR": bundle, "PYTHONPATH": str(ROOT)}
    with gunicorn(url, bundle, workers=1, threads=3) as (base, _):
        subprocess.run(
            [
                str(Path(sys.executable).parent / "flask"),
                "--app",
                "futurisys",
                "users",
                "create",
                "rh",
                "--role",
                "hr",
                "--password",
                PASSWORD,
            ],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        pid = worker_pid(url)
        session = signed_in(base)
        health = []
        for _ in range(runs):
            started = time.perf_counter()
            session.get(f"{base}/health", timeout=10)
            health.append(time.perf_counter() - started)
        print(
            f"load average {os.getloadavg()[0]:.2f}; worker RSS {memory(pid, 'VmRSS'):.0f} MB; "
            f"/health {min(health) * 1000:.1f}–{max(health) * 1000:.1f} ms"
        )
        from bench.bench_batch import records

        comparison = "for comparison: POST /predict/batch, 10,000 JSON records"
        uploads[comparison] = json.dumps(records(10_000)[0]).encode()
        for name, content in uploads.items():
            times, growth, statuses = [], [], set()
            for _ in range(runs):
                before = memory(pid, "VmRSS")
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
                if name == comparison:
                    started = time.perf_counter()
                    status = session.post(
                        f"{base}/predict/batch",
                        data=content,
                        timeout=60,
                        headers={"Content-Type": "application/json"},
                    ).status_code
                    seconds = time.perf_counter() - started
                else:
                    status, seconds = upload(session, base, content)
                growth.append(memory(pid, "VmHWM") - before)
                times.append(seconds)
                statuses.add(status)
            print(
                f"{name:<40} {len(content) / 2**20:5.1f} MiB  status {sorted(statuses)}  "
                f"{min(times):6.2f}–{max(times):.2f} s  peak growth ≤ {max(growth):5.1f} MB  "
                f"(RSS after {memory(pid, 'VmRSS'):.0f} MB)"
            )


if __name__ == "__main__":
    main()
