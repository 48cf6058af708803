"""Serving benchmarks of issue 14 and issue 10 (point 2), every figure a ratio to /health in the same run.

Starts its own gunicorn servers on 127.0.0.1 (throw-away PostgreSQL database and SQLite file), drives them with
wrk (Debian package `wrk`), bounded in time, and prints min–max over runs with the load average:

- balance: keep-alive runs of POST /predict at 8 and 32 connections; mid-run, `ss` counts which worker process
  owns each established connection; largest share held by one worker; spread of /predict across runs beside
  that of /health measured just before each run (the machine's own drift);
- ratio: /predict ÷ /health requests/s at 8 connections, alternating, median of 5 (PostgreSQL commit kept);
- sqlite: p99 of /predict on SQLite ÷ on PostgreSQL at 8 connections, wrk time-outs;
- slow: 50 connections sending their request head a byte a second, then /predict at 8 connections: p99 and
  unanswered requests, against /predict's p99 with no slow client (same server);
- slowbody: 50 connections sending a complete head and then no body, and 50 sending their body a byte a second
  (each reconnecting when closed with its 408), then /predict at 8 connections and /health: p99 of each;
- busy: /predict at 16 connections for 20 s beside 8 CPU-burning processes (load ≥ 10 on 2 cores): non-2xx
  answers (a healthy database under CPU load must never trip the deadlines: no 503);
- boot: scripts/boot.sh (bundle present, database up to date) to /ready.

How long: about 5 minutes with the defaults (balance 2 x 10 runs x 2 x 4 s, ratio 40 s, slow 30 s, slowbody 30 s,
busy 25 s, sqlite 25 s, boot 15 s); it prints its own estimate for the parts and options given. `--only ratio
--seconds 3` takes about 40 s. Its PostgreSQL database (on BENCH_PG_ADMIN_URL's server), SQLite file and servers
end with it, even when interrupted.

Usage: PYTHONPATH=. .venv/bin/python bench/bench_serving.py [--bundle DIR]
       [--only balance,ratio,sqlite,slow,slowbody,busy,boot]
       [--runs 10] [--seconds 4] [--worker-class gthread]   (stock gthread, to compare)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from bench.common import ROOT, announce, free_port, gunicorn, model_bundle, throwaway_database

WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[%s]]
"""
SLOW_HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-client\r\nAccept: */*\r\n\r\n"
BODY_HEAD = (
    b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n"
)


def load() -> str:
    """The 1-minute load average, as text."""
    return Path("/proc/loadavg").read_text().split()[0]


def parse_wrk(output: str) -> dict:
    """Requests/s, latency percentiles (ms), non-2xx and time-outs from wrk --latency output."""
    to_ms = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    percentiles = {p: float(v) * to_ms[u] for p, v, u in re.findall(r"\s(50|90|99)%\s+([\d.]+)(us|ms|s)", output)}
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    timeouts = re.search(r"timeout (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "timeouts": int(timeouts.group(1)) if timeouts else 0,
        "p50": percentiles.get("50"),
        "p90": percentiles.get("90"),
        "p99": percentiles.get("99"),
    }


def wrk(
    url: str, seconds: float, connections: int, script: Path | None = None, port: int | None = None, close: bool = False
) -> dict:
    """Run wrk (2 threads; keep-alive unless `close`); with `port`, count the connection owners half-way through."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "5s", url]
    if close:  # a new connection per request, as clients without keep-alive do: each one is accepted afresh
        command[1:1] = ["-H", "Connection: close"]
    if script:
        command[1:1] = ["-s", str(script)]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    owners = Counter()
    if port:
        time.sleep(seconds / 2)
        owners = connection_owners(port)
    output, _ = run.communicate(timeout=seconds + 30)
    return {**parse_wrk(output), "owners": owners}


def connection_owners(port: int) -> Counter:
    """How many established connections to `port` each process holds (`ss -p`)."""
    listing = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, check=True
    ).stdout
    return Counter(re.findall(r"pid=(\d+)", listing))


def span(values: list[float], digits: int = 2) -> str:
    """min–max of `values`."""
    return f"{min(values):.{digits}f}–{max(values):.{digits}f}"


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def spread(values: list[float]) -> str:
    """How far the lowest and the highest of `values` are from their median, in percent."""
    middle = statistics.median(values)
    return f"{(min(values) / middle - 1) * 100:+.0f} % to {(max(values) / middle - 1) * 100:+.0f} %"


def bench_balance(base: str, script: Path, runs: int, seconds: float) -> None:
    """Each run: /health, then /predict with the connection owners counted; both spreads across the runs.

    The machine's own speed moves from run to run (other tenants): /health, measured just before, shows how much.
    """
    port = port_of(base)
    for connections in (8, 32):
        pairs = [
            (wrk(f"{base}/health", seconds, connections), wrk(f"{base}/predict", seconds, connections, script, port))
            for _ in range(runs)
        ]
        results = [predict for _, predict in pairs]
        shares = [max(r["owners"].values()) / sum(r["owners"].values()) for r in results if r["owners"]]
        rates = [r["rps"] for r in results]
        ratios = [predict["rps"] / health["rps"] for health, predict in pairs]
        print(
            f"balance c={connections:<2} ({runs} keep-alive runs of {seconds:g} s, load {load()}): largest share on "
            f"one worker {span(shares)} (owners per run: "
            f"{' '.join('/'.join(str(n) for n in sorted(r['owners'].values(), reverse=True)) for r in results)}); "
            f"/predict ÷ /health {span(ratios)}, spread {spread(ratios)} of the median; /predict throughput "
            f"spread {spread(rates)} ({' '.join(f'{rate:.0f}' for rate in rates)} requests/s; /health's own: "
            f"{spread([health['rps'] for health, _ in pairs])}); "
            f"p99 {span([r['p99'] for r in results], 1)} ms; time-outs {sum(r['timeouts'] for r in results)}"
        )


def bench_ratio(base: str, script: Path, seconds: float) -> None:
    ratios, p99s = [], []
    for _ in range(5):
        health = wrk(f"{base}/health", seconds, 8)
        predict = wrk(f"{base}/predict", seconds, 8, script)
        ratios.append(predict["rps"] / health["rps"])
        p99s.append(predict["p99"])
    print(
        f"ratio c=8 (5 alternating runs of {seconds:g} s, load {load()}): /predict ÷ /health median "
        f"{statistics.median(ratios):.3f} ({span(ratios, 3)}); /predict p99 {span(p99s, 1)} ms"
    )


def bench_sqlite(base_pg: str, base_sqlite: str, script: Path, runs: int, seconds: float) -> None:
    ratios, timeouts = [], 0
    for _ in range(runs):
        health = wrk(f"{base_pg}/health", seconds, 8)
        postgres = wrk(f"{base_pg}/predict", seconds, 8, script)
        sqlite = wrk(f"{base_sqlite}/predict", seconds, 8, script)
        ratios.append(sqlite["p99"] / postgres["p99"])
        timeouts += sqlite["timeouts"] + postgres["timeouts"]
        print(
            f"  sqlite run: p99 SQLite {sqlite['p99']:.1f} ms, PostgreSQL {postgres['p99']:.1f} ms, /health "
            f"{health['p99']:.1f} ms; req/s ÷ /health SQLite {sqlite['rps'] / health['rps']:.3f}, PostgreSQL "
            f"{postgres['rps'] / health['rps']:.3f}"
        )
    print(
        f"sqlite c=8 ({runs} runs of {seconds:g} s, load {load()}): p99 SQLite ÷ PostgreSQL {span(ratios)}; "
        f"wrk time-outs {timeouts}"
    )


@contextmanager
def slow_clients(port: int, count: int):
    """`count` connections sending SLOW_HEAD a byte a second (reconnecting when dropped); yields a stats dict."""
    stats = {"dropped": 0}
    stop = threading.Event()

    def connect():
        return socket.create_connection(("127.0.0.1", port), timeout=5)

    def drip():
        sockets = [[connect(), 0] for _ in range(count)]
        while not stop.wait(1.0):  # bounded: stops with the context
            for entry in sockets:
                try:
                    entry[0].send(SLOW_HEAD[entry[1] : entry[1] + 1])
                    entry[1] = (entry[1] + 1) % len(SLOW_HEAD)
                except OSError:
                    stats["dropped"] += 1
                    entry[0].close()
                    entry[:] = [connect(), 0]
        for entry in sockets:
            entry[0].close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    time.sleep(3)  # every slow connection is open and has sent a few bytes
    try:
        yield stats
    finally:
        stop.set()
        thread.join(timeout=10)


def bench_slow(base: str, script: Path, seconds: float) -> None:
    port = port_of(base)
    health = wrk(f"{base}/health", seconds, 8)
    quiet = wrk(f"{base}/predict", seconds, 8, script)
    with slow_clients(port, 50) as stats:
        held = sum(connection_owners(port).values())
        loaded = wrk(f"{base}/predict", max(seconds, 10), 8, script)
        fresh = wrk(f"{base}/predict", max(seconds, 10), 8, script, close=True)
    print(
        f"slow clients (50 sending their head a byte a second, {held} connections held; then /predict at c=8 "
        f"for {max(seconds, 10):g} s, load {load()}): p99 {loaded['p99']:.1f} ms (without slow clients "
        f"{quiet['p99']:.1f} ms; /health p99 {health['p99']:.1f} ms), {loaded['requests']} answered, "
        f"time-outs {loaded['timeouts']}, non-2xx {loaded['non_2xx']}, slow connections dropped {stats['dropped']}; "
        f"req/s ÷ /health {loaded['rps'] / health['rps']:.3f}"
    )
    print(
        f"slow clients, /predict on a new connection per request: p99 {fresh['p99']:.1f} ms, {fresh['requests']} "
        f"answered, time-outs {fresh['timeouts']}, errors+non-2xx {fresh['non_2xx']}; "
        f"req/s ÷ /health {fresh['rps'] / health['rps']:.3f}"
    )


@contextmanager
def slow_bodies(port: int, idle: int, trickling: int):
    """`idle` connections sending BODY_HEAD then nothing, `trickling` ones then a body byte a second; yields stats.

    A connection the server closes (its 408) is opened again at once, so the load stays the same all along.
    """
    stats = {"408": 0, "other": 0}
    stop = threading.Event()

    def opened(kind: str) -> list:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(BODY_HEAD)
        sock.setblocking(False)
        return [sock, kind]

    def closed(entry) -> bool:
        try:
            answer = entry[0].recv(4096)
        except BlockingIOError:
            return False
        except OSError:
            answer = b""
        stats["408" if answer.startswith(b"HTTP/1.1 408") else "other"] += 1
        entry[0].close()
        entry[:] = opened(entry[1])
        return True

    def drip():
        sockets = [opened("idle") for _ in range(idle)] + [opened("trickling") for _ in range(trickling)]
        while not stop.wait(1.0):  # bounded: stops with the context
            for entry in sockets:
                if not closed(entry) and entry[1] == "trickling":
                    try:
                        entry[0].send(b" ")
                    except OSError:
                        pass  # closed meanwhile: seen at the next turn
        for entry in sockets:
            entry[0].close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    time.sleep(3)  # every connection is open and has sent its head
    try:
        yield stats
    finally:
        stop.set()
        thread.join(timeout=10)


def bench_slow_bodies(base: str, script: Path, seconds: float) -> None:
    port = port_of(base)
    health = wrk(f"{base}/health", seconds, 8)
    quiet = wrk(f"{base}/predict", seconds, 8, script)
    with slow_bodies(port, 50, 50) as stats:
        held = sum(connection_owners(port).values())
        loaded = wrk(f"{base}/predict", max(seconds, 10), 8, script)
        loaded_health = wrk(f"{base}/health", seconds, 8)
    print(
        f"slow bodies (50 heads without a body, 50 bodies at a byte a second, {held} connections held; then "
        f"/predict at c=8 for {max(seconds, 10):g} s, load {load()}): /predict p99 {loaded['p99']:.1f} ms "
        f"(without slow bodies {quiet['p99']:.1f} ms), {loaded['requests']} answered, time-outs "
        f"{loaded['timeouts']}, non-2xx {loaded['non_2xx']}; /health p99 {loaded_health['p99']:.1f} ms (without "
        f"{health['p99']:.1f} ms), time-outs {loaded_health['timeouts']}; slow connections closed with a 408 "
        f"{stats['408']}, otherwise {stats['other']}; req/s ÷ /health {loaded['rps'] / health['rps']:.3f}"
    )


def bench_busy(base: str, script: Path, seconds: float = 20, hogs: int = 8) -> None:
    burn = f"import time\nend = time.monotonic() + {seconds + 5}\nwhile time.monotonic() < end: pass"
    burners = [subprocess.Popen([sys.executable, "-c", burn]) for _ in range(hogs)]  # each stops by itself
    try:
        time.sleep(3)  # the load average climbs
        result = wrk(f"{base}/predict", seconds, 16, script)
        during = load()
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    print(
        f"busy ({hogs} CPU burners, /predict at c=16 for {seconds:g} s, load {during}): {result['requests']} "
        f"answered, non-2xx {result['non_2xx']}, time-outs {result['timeouts']}, p99 {result['p99']:.1f} ms"
    )


def bench_boot(bundle: str, runs: int) -> None:
    """scripts/boot.sh to /ready on SQLite: first on an empty database, then with everything in place."""
    work = Path(tempfile.mkdtemp(prefix="futurisys-boot-"))
    times = {"empty database": [], "database up to date": []}
    for _ in range(runs):
        for kind in times:
            if kind == "empty database":
                (work / "boot.db").unlink(missing_ok=True)
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{work / 'boot.db'}",
                "MODEL_DIR": bundle,
                "PORT": str(port),
                "HOST": "127.0.0.1",
                "SECRET_KEY": "bench",
                "ACCESS_LOG": "0",
                "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),
                "PYTHONPATH": str(ROOT),
            }
            started = time.perf_counter()
            server = subprocess.Popen(
                ["bash", "scripts/boot.sh"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                while time.perf_counter() - started < 60:  # bounded
                    try:
                        if urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1).status == 200:
                            break
                    except OSError:
                        time.sleep(0.02)
                times[kind].append(time.perf_counter() - started)
            finally:
                server.terminate()
                server.wait(timeout=30)
    for kind, values in times.items():
        print(f"boot to /ready ({kind}, {runs} runs, load {load()}): {span(values)} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", help="model bundle folder (default: MODEL_DIR, instance/model, else train one)")
    parser.add_argument("--only", default="balance,ratio,sqlite,slow,slowbody,busy,boot")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--worker-class", default="gunicorn_worker.BalancedWorker")
    args = parser.parse_args()
    parts = set(args.only.split(","))

    from tests.payloads import FEATURES

    seconds = {
        "balance": 2 * args.runs * 2 * args.seconds,
        "ratio": 10 * args.seconds,
        "slow": 3 * args.seconds + 23,
        "slowbody": 3 * args.seconds + 23,
        "busy": 25,
        "sqlite": 3 * max(3, args.runs // 3) * args.seconds + 5,
        "boot": 15,
    }
    announce(f"serving benchmarks {', '.join(sorted(parts))}", 10 + sum(seconds.get(part, 0) for part in parts))
    with tempfile.TemporaryDirectory(prefix="futurisys-bench-") as work:
        run(args, parts, Path(work), model_bundle(args.bundle, Path(work)), FEATURES)


def run(args, parts: set[str], work: Path, bundle: str, features: dict) -> None:
    """The parts asked for, on servers of their own."""
    script = work / "predict.lua"
    script.write_text(WRK_LUA % json.dumps(features, ensure_ascii=False))
    print(f"worker class {args.worker_class}, 3 workers x 3 threads, load {load()} on {os.cpu_count()} CPUs")
    env = {"GUNICORN_WORKER_CLASS": args.worker_class}
    if parts & {"balance", "ratio", "sqlite", "slow", "slowbody", "busy"}:
        with throwaway_database("serving") as database_url, gunicorn(database_url, bundle, 3, 3, **env) as (base, _):
            wrk(f"{base}/health", 2, 8)  # warm-up
            wrk(f"{base}/predict", 2, 8, script)
            if "balance" in parts:
                bench_balance(base, script, args.runs, args.seconds)
            if "ratio" in parts:
                bench_ratio(base, script, args.seconds)
            if "slow" in parts:
                bench_slow(base, script, args.seconds)
            if "slowbody" in parts:
                bench_slow_bodies(base, script, args.seconds)
            if "busy" in parts:
                bench_busy(base, script)
            if "sqlite" in parts:
                with gunicorn(f"sqlite:///{work / 'bench.db'}", bundle, 3, 3, **env) as (base_sqlite, _ready):
                    wrk(f"{base_sqlite}/predict", 2, 8, script)  # warm-up
                    bench_sqlite(base, base_sqlite, script, max(3, args.runs // 3), args.seconds)
    if "boot" in parts:
        bench_boot(bundle, 3)


if __name__ == "__main__":
    main()
