"""The production layout: gunicorn with its worker class, and Debian's nginx in front with deploy/'s config."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.payloads import FEATURES

ROOT = Path(__file__).resolve().parent.parent
NGINX = os.environ.get("NGINX_PATH", shutil.which("nginx") or "/usr/sbin/nginx")
PARTIAL_HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # never finished: a slow client
POST_HEAD = b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
IDLE_BODY = POST_HEAD + b"Content-Length: 100\r\n\r\n"  # a complete head, then no body
TRICKLING_BODY = POST_HEAD + b"Content-Length: 100\r\n\r\n" + b'{"Age": 4'  # a body that stops part-way
TRICKLING_CHUNKS = POST_HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\n" + b'{"Ag'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    """Poll `url` until it answers 200 (bounded), failing early if `process` died."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # closed: no socket left to the collector
                if answer.status == 200:
                    return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{url} never answered 200 (exit code {process.poll()})") from None
            time.sleep(0.05)  # polling interval for start-up, not a wait on timing


@pytest.fixture(scope="module")
def gunicorn_url(bundle_dir, tmp_path_factory):
    """gunicorn as boot.sh runs it (gunicorn.conf.py, wsgi:app migrating an empty SQLite file), on 127.0.0.1."""
    port = free_port()
    folder = tmp_path_factory.mktemp("served")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'served.db'}",
        "MODEL_DIR": str(bundle_dir),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "SECRET_KEY": "test-secret",
        "PREPARE_DATABASE": "1",
        "PROXY_COUNT": "1",
        "ACCESS_LOG": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        "GUNICORN_BODY_TIMEOUT": "2",  # the 408 below comes after 2 s, not the default 10
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/ready", server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def render_nginx_config(folder: Path, upstream: str, port: int) -> Path:
    """deploy/'s server block with its two variables filled in, inside a main config of the test's own."""
    template = (ROOT / "deploy" / "nginx" / "futurisys.conf.template").read_text()
    server = template.replace("${FUTURISYS_UPSTREAM}", upstream).replace("${NGINX_PORT}", f"127.0.0.1:{port}")
    (folder / "futurisys.conf").write_text(server)
    main = folder / "nginx.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # workers reach the test's private temp folders
        + f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
        "events { worker_connections 256; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {folder / 'body'};\n"
        f"  proxy_temp_path {folder / 'proxy'};\n  fastcgi_temp_path {folder / 'fastcgi'};\n"
        f"  uwsgi_temp_path {folder / 'uwsgi'};\n  scgi_temp_path {folder / 'scgi'};\n"
        f"  include {folder / 'futurisys.conf'};\n}}\n"
    )
    return main


@pytest.fixture(scope="module")
def proxy_url(gunicorn_url, tmp_path_factory):
    """Debian's nginx on 127.0.0.1 with deploy/'s config, in front of `gunicorn_url`."""
    assert Path(NGINX).exists(), f"{NGINX} is missing: apt-get install -y nginx-light (scripts/ensure-services.sh)"
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    config = render_nginx_config(folder, gunicorn_url.removeprefix("http://"), port)
    checked = subprocess.run([NGINX, "-t", "-c", str(config), "-p", str(folder)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proxy = subprocess.Popen([NGINX, "-c", str(config), "-p", str(folder)], stderr=subprocess.DEVNULL)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/health", proxy, seconds=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)


def post_predict(base: str) -> dict:
    body = json.dumps(FEATURES).encode()
    request = urllib.request.Request(f"{base}/predict", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
        return json.loads(answer.read())


def open_slow_clients(base: str, count: int, start: bytes = PARTIAL_HEAD) -> list[socket.socket]:
    """`count` connections that send `start` (the start of a request) and then nothing."""
    host, port = base.removeprefix("http://").split(":")
    clients = [socket.create_connection((host, int(port)), timeout=5) for _ in range(count)]
    for client in clients:
        client.sendall(start)
    return clients


def raw_answer(base: str, request: bytes, seconds: float = 10) -> bytes:
    """What the server answers to the raw bytes `request` (read until it closes)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=seconds) as client:
        client.sendall(request)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    return answer


def owner_of(client: socket.socket, port: str) -> str | None:
    """The pid of the gunicorn process holding the server side of `client`'s connection."""
    listing = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, check=True
    ).stdout
    mine = str(client.getsockname()[1])
    return next(
        (
            re.search(r"pid=(\d+)", line).group(1)
            for line in listing.splitlines()
            if line.split()[3].rsplit(":", 1)[1] == mine
        ),
        None,
    )


def until_both_serve(port: str) -> None:
    """/ready answered from one worker; on a loaded machine the other may still be starting: poll (bounded) until
    both have served a connection."""
    serving, deadline = set(), time.monotonic() + 120
    while len(serving) < 2:
        assert time.monotonic() < deadline, f"only {serving} answered within 120 s"
        with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as probe:
            probe.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert probe.recv(4096).startswith(b"HTTP/1.1 200")
            serving.add(owner_of(probe, port))


def test_connections_are_spread_over_the_workers(gunicorn_url):
    # First in the module: connections other tests leave closing would still count for a worker meanwhile.
    port = gunicorn_url.rsplit(":", 1)[1]
    until_both_serve(port)
    clients = [socket.create_connection(("127.0.0.1", int(port)), timeout=5) for _ in range(10)]
    ours = {str(client.getsockname()[1]) for client in clients}
    try:
        for client in clients:  # a request on each: every connection has been accepted by then
            client.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert client.recv(4096).startswith(b"HTTP/1.1 200")
        listing = subprocess.run(
            ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        for client in clients:
            client.close()
    owners = Counter(
        re.search(r"pid=(\d+)", line).group(1)
        for line in listing.splitlines()
        if line.split()[3].rsplit(":", 1)[1] in ours
    )
    assert sum(owners.values()) == 10 and max(owners.values()) <= 7, owners  # stock gthread: mostly 9 or 10 on one


def held_ports(port: str) -> set[str]:
    """The client ports of the connections gunicorn still holds on `port` (established, or closed by the client
    and not yet by gunicorn)."""
    listing = subprocess.run(
        ["ss", "-Htn", "state", "established", "state", "close-wait", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split()[-1].rsplit(":", 1)[1] for line in listing.splitlines() if line.strip()}


def until_released(port: str, clients: set[str]) -> None:
    """Poll (bounded) until gunicorn has closed its side of the `clients`' connections, so its counts dropped."""
    deadline = time.monotonic() + 30
    while held_ports(port) & clients:
        assert time.monotonic() < deadline, f"gunicorn still holds {held_ports(port) & clients}"
        time.sleep(0.01)  # polling interval for a condition, not a wait on timing


def connected(port: str) -> http.client.HTTPConnection:
    """A kept-alive connection to gunicorn that has had one /health answered (so a worker accepted it)."""
    client = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
    health_on(client)
    return client


def health_on(client: http.client.HTTPConnection) -> None:
    client.request("GET", "/health")
    answer = client.getresponse()
    assert answer.status == 200 and answer.read() == b'{"status":"ok"}\n'


def test_a_new_client_goes_to_the_worker_whose_connection_just_closed(gunicorn_url):
    # Workers A and B hold one connection each, so both listen; B's closes. A, idle, would listen until its
    # event loop next looks (up to a second): the next client must still go to B's worker, never join A's
    # connection on its worker (what the bench saw as [2]: /predict and an admin's pages on one worker).
    port = gunicorn_url.rsplit(":", 1)[1]
    until_both_serve(port)
    until_released(port, held_ports(port))  # what earlier tests left behind counts for a worker until closed
    steady = connected(port)
    try:
        for _ in range(8):
            other = connected(port)
            assert owner_of(other.sock, port) != owner_of(steady.sock, port)
            health_on(steady)  # its worker's loop looks again: both workers hold one, both listen
            released = {str(other.sock.getsockname()[1])}
            other.close()
            until_released(port, released)
            newcomer = connected(port)
            try:
                assert owner_of(newcomer.sock, port) != owner_of(steady.sock, port)
            finally:
                released = {str(newcomer.sock.getsockname()[1])}
                newcomer.close()
                until_released(port, released)
    finally:
        steady.close()


def test_gunicorn_migrated_the_database_before_forking_and_serves_predictions(gunicorn_url):
    answer = post_predict(gunicorn_url)
    assert answer["Prediction"] in ("Reste", "Part") and 0 <= answer["Probabilite_depart"] <= 1
    with urllib.request.urlopen(f"{gunicorn_url}/ready", timeout=5) as answer:
        assert json.loads(answer.read())["status"] == "ready"


def test_slow_clients_do_not_hold_gunicorns_threads(gunicorn_url):
    # 2 workers x 2 threads: with stock gthread, unfinished heads take the threads of the worker that accepted them
    # and the requests it accepts next hang (stock gthread fails this test).
    clients = open_slow_clients(gunicorn_url, 12)
    try:
        assert post_predict(gunicorn_url)["Prediction"] in ("Reste", "Part")
        for _ in range(8):
            with urllib.request.urlopen(f"{gunicorn_url}/health", timeout=5) as answer:
                assert answer.status == 200
    finally:
        for client in clients:
            client.close()


def test_idle_and_trickling_bodies_hold_no_thread_and_get_a_408(gunicorn_url):
    # 2 workers x 2 threads: a thread blocked on any of these bodies would leave /health and /predict unanswered.
    clients = [
        *open_slow_clients(gunicorn_url, 6, IDLE_BODY),
        *open_slow_clients(gunicorn_url, 6, TRICKLING_BODY),
        *open_slow_clients(gunicorn_url, 6, TRICKLING_CHUNKS),
    ]
    try:
        assert post_predict(gunicorn_url)["Prediction"] in ("Reste", "Part")
        for _ in range(8):
            assert urllib.request.urlopen(f"{gunicorn_url}/health", timeout=5).status == 200
        for client in clients[::6]:  # one of each kind: closed with a French 408 once GUNICORN_BODY_TIMEOUT is spent
            client.settimeout(15)
            answer = client.recv(4096)
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"].startswith("Délai dépassé")
    finally:
        for client in clients:
            client.close()


def test_a_body_sent_after_100_continue_is_read(gunicorn_url):
    body = json.dumps(FEATURES).encode()
    head = POST_HEAD + b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
    host, port = gunicorn_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(head)
        assert client.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        client.sendall(body)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and b"100 Continue" not in answer, answer[:200]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (POST_HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400),  # invalid chunk size
        (POST_HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n", 400),  # chunk without its CRLF
        (b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n", 400),
    ],
    ids=["chunk-size", "chunk-terminator", "header-too-large", "header-name"],
)
def test_the_server_layer_refuses_in_french_and_briefly(gunicorn_url, request_bytes, status):
    answer = raw_answer(gunicorn_url, request_bytes)
    head, body = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 %d " % status), head
    assert b"application/json" in head and set(json.loads(body)) == {"error"}
    assert b"<html" not in body and b"Invalid" not in body  # no English parser message


VALID_SIZE = re.compile(rb"^\s*([0-9A-Fa-f]+)\s*(;.*)?$")
size_lines = st.one_of(
    st.binary(max_size=12),
    st.text(alphabet='0123456789abcdefABCDEFxX;=-+ \t"\x00é', max_size=12).map(lambda text: text.encode()),
).filter(lambda line: b"\r" not in line and b"\n" not in line)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size_line=size_lines)
def test_no_chunk_size_line_gets_a_5xx(gunicorn_url, size_line):
    valid = VALID_SIZE.match(size_line)
    assume(not valid or int(valid[1], 16) == 2)  # a larger valid size waits for its bytes, then gets the 408 above
    head = POST_HEAD + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    request = head + size_line + b"\r\n{}\r\n0\r\n\r\n"
    answer = raw_answer(gunicorn_url, request)
    assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    assert int(answer[9:12]) < 500, answer[:300]


def test_nginx_forwards_to_gunicorn_with_the_client_address_and_scheme(proxy_url):
    answer = post_predict(proxy_url)
    assert answer["Prediction"] in ("Reste", "Part")
    with urllib.request.urlopen(f"{proxy_url}/health", timeout=5) as health:
        assert health.status == 200 and health.headers["Server"] == "nginx"  # no version (server_tokens off)


def test_nginx_answers_413_itself_for_bodies_over_16_mib(proxy_url):
    request = urllib.request.Request(
        f"{proxy_url}/predict", data=b"x" * (17 * 1024 * 1024), headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    refused.value.close()
    assert refused.value.code == 413


def test_nginx_holds_slow_clients_so_gunicorn_never_sees_them(proxy_url, gunicorn_url):
    upstream_port = gunicorn_url.rsplit(":", 1)[1]
    clients = open_slow_clients(proxy_url, 40)
    try:
        assert post_predict(proxy_url)["Prediction"] in ("Reste", "Part")
        listing = subprocess.run(
            ["ss", "-Htn", "state", "established", f"( dport = :{upstream_port} )"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # Only nginx's few pooled connections reach gunicorn, not one per slow client.
        assert len(listing.splitlines()) < 10, listing
    finally:
        for client in clients:
            client.close()
