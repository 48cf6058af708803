"""gunicorn worker class: gthread that spreads connections evenly and never lends a thread to a slow client.

Two changes to gunicorn's gthread worker, both on its main (event-loop) thread:

- **Balance.** Stock gthread accepts whenever the listening socket is readable, so the worker that wakes first
  takes most of a burst of keep-alive connections and then serves them on one core. Here each worker publishes
  in a small shared table how many connections it holds, and listens only while no live worker holds fewer; a
  worker that stops listening wakes the least loaded one through its pipe, so one always listens (and every
  worker looks again every 0.1 s at most while it does not). A worker woken by a new client checks again before
  accepting it, so the client goes to the least loaded worker even when another's connection closed meanwhile.
- **Request heads read off-thread.** Stock gthread hands a connection to a thread as soon as one byte arrives,
  and the thread then blocks until the head is complete: clients sending their headers a byte a second take
  every thread. Here the main loop collects the head without blocking and gives the connection to a thread only
  once the head is complete (or too large, for the parser to refuse); a head not complete after
  `HEAD_TIMEOUT` seconds is dropped.
- **Request bodies read off-thread too.** A head announcing a body (Content-Length or chunked) stays on the event
  loop until the whole body has arrived, so a client that sends a head and then a body slowly, or never, holds a
  connection but no thread. A body gets `BODY_TIMEOUT` seconds (GUNICORN_BODY_TIMEOUT, 10 by default), plus one
  second per `BODY_MIN_RATE` bytes received (GUNICORN_BODY_MIN_RATE, 100,000 by default): past that, a 408. Bodies
  larger than `BODY_BUFFER_LIMIT` (MAX_CONTENT_LENGTH) go to a thread at once, for the app to answer 413.
- **French, minimal errors from the server layer**: the parser's refusals (400, 414, 431…) and the 408 above answer
  a short JSON `{"error": "…"}` in French, without the parser's English message.
"""

from __future__ import annotations

import errno
import io
import json
import multiprocessing
import os
import re
import selectors
import time
from functools import partial

from gunicorn import util
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import ThreadWorker

MAX_WORKERS = 32
HEAD_TIMEOUT = 10.0
HEAD_LIMIT = 64 * 1024  # bigger than gunicorn's own limits: the parser answers 431/400 past them
_HEAD_END = b"\r\n\r\n"
BODY_TIMEOUT = float(os.environ.get("GUNICORN_BODY_TIMEOUT", "10"))
BODY_MIN_RATE = float(os.environ.get("GUNICORN_BODY_MIN_RATE", "100000"))  # bytes/s, once BODY_TIMEOUT is spent
BODY_BUFFER_LIMIT = int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)) + 64 * 1024  # + chunk framing
_WAITING, _HANDED_OVER, _CLOSED = "waiting", "handed over", "closed"
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d{1,18})[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_CHUNKED = re.compile(rb"^transfer-encoding[ \t]*:[ \t]*chunked[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect[ \t]*:[ \t]*100-continue[ \t]*(?=\r\n)", re.IGNORECASE)
_CHUNK_SIZE = re.compile(rb"^[0-9A-Fa-f]{1,16}$")
#: What the server layer answers by itself, in French (the app's own errors are in futurisys/errors.py).
FRENCH_ERRORS = {
    400: ("Bad Request", "Requête HTTP invalide."),
    403: ("Forbidden", "Requête refusée."),
    408: ("Request Timeout", "Délai dépassé : la requête n'est pas arrivée à temps."),
    414: ("URI Too Long", "Adresse trop longue."),
    417: ("Expectation Failed", "En-tête Expect non pris en charge."),
    431: ("Request Header Fields Too Large", "En-têtes de la requête trop volumineux."),
    500: ("Internal Server Error", "Erreur interne."),
    501: ("Not Implemented", "Codage de transfert non pris en charge."),
}

# Created when gunicorn's arbiter imports this module (before forking), so every worker shares them.
_pids = multiprocessing.RawArray("i", MAX_WORKERS)
_connections = multiprocessing.RawArray("i", MAX_WORKERS)
_wakeups = [os.pipe() for _ in range(MAX_WORKERS)]  # (read, write) per slot: "you may be the least loaded now"
for _read, _write in _wakeups:
    os.set_blocking(_read, False)
    os.set_blocking(_write, False)
_slots_lock = multiprocessing.Lock()


def error_answer(status: int) -> bytes:
    """A complete, minimal HTTP answer with a French JSON error, closing the connection."""
    reason, message = FRENCH_ERRORS.get(status, FRENCH_ERRORS[400 if status < 500 else 500])
    body = json.dumps({"error": message}, ensure_ascii=False).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _write_french_error(sock, status_int, reason, mesg) -> None:
    """Stands in for gunicorn's util.write_error (English HTML with the parser's message)."""
    util.write_nonblock(sock, error_answer(status_int))


def body_end(data: bytes | bytearray, start: int, scan: int = 0) -> tuple[int | None, int, bool]:
    """Where a chunked body beginning at `start` ends: (end or None if incomplete, resume offset, framing valid).

    `scan` is where a previous call stopped (a chunk boundary), so a body trickling in is not scanned again.
    """
    position = max(start, scan)
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            return None, position, len(data) - position <= 1024  # a size line is short
        size_text = bytes(data[position:line_end]).split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.match(size_text):
            return None, position, False
        size = int(size_text, 16)
        if size == 0:  # the last chunk, then trailer lines (usually none) and an empty line
            end = data.find(_HEAD_END, line_end)
            return (None if end < 0 else end + 4), position, True
        chunk_end = line_end + 2 + size
        if len(data) < chunk_end + 2:
            return None, position, True
        if data[chunk_end : chunk_end + 2] != b"\r\n":
            return None, position, False
        position = chunk_end + 2


class BufferedUnreader(SocketUnreader):
    """gunicorn's socket reader, serving first the body bytes the event loop already received.

    The body is not pushed back into the parser's BytesIO (gunicorn copies that whole buffer on every read: a
    16 MB body read 64 KiB at a time would be copied hundreds of times); it is handed out a piece at a time.
    """

    def __init__(self, sock, received: bytearray, start: int):
        super().__init__(sock)
        self.received, self.offset = received, start

    def chunk(self, size_hint=None):
        if self.received is None:
            return super().chunk(size_hint)
        size = max(self.mxchunk, min(size_hint or 0, self.max_body_chunk))
        piece = bytes(self.received[self.offset : self.offset + size])
        self.offset += len(piece)
        if self.offset >= len(self.received):
            self.received = None  # all served: read the socket again
        return piece

    def take_received(self) -> bytes:
        """What is left of the received bytes (the start of a pipelined request), no longer served from here."""
        rest = b"" if self.received is None else bytes(self.received[self.offset :])
        self.received = None
        return rest


def release_slot(pid: int) -> None:
    """Forget a worker that exited (called by the arbiter's child_exit hook)."""
    with _slots_lock:
        for slot in range(MAX_WORKERS):
            if _pids[slot] == pid:
                _pids[slot] = 0
                _connections[slot] = 0


def connection_counts() -> dict[int, int]:
    """Connections held by each live worker, by pid (for tests and benchmarks)."""
    return {_pids[slot]: _connections[slot] for slot in range(MAX_WORKERS) if _pids[slot]}


class BalancedWorker(ThreadWorker):
    """gthread with fair accepting and request heads collected on the event loop."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pending_heads = set()

    def init_process(self):
        """Claim a slot in the shared table, then run as gthread does."""
        with _slots_lock:
            self.slot = next(slot for slot in range(MAX_WORKERS) if _pids[slot] in (0, os.getpid()))
            _pids[self.slot] = os.getpid()
            _connections[self.slot] = 0
        super().init_process()

    # gthread keeps its count in `nr_conns` and compares it with `worker_connections` before listening: both are
    # properties here, so the count is published and the limit drops to the count when another worker holds fewer.
    @property
    def nr_conns(self) -> int:
        return self._nr_conns

    @nr_conns.setter
    def nr_conns(self, value: int) -> None:
        self._nr_conns = value
        if hasattr(self, "slot"):
            _connections[self.slot] = value

    @property
    def worker_connections(self) -> int:
        if self._nr_conns > self._least_loaded()[1]:
            return self._nr_conns  # makes gthread stop listening
        return self._connection_limit

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._connection_limit = value

    def _least_loaded(self) -> tuple[int, int]:
        """The slot of the live worker holding the fewest connections, and how many it holds."""
        return min(
            ((slot, _connections[slot]) for slot in range(MAX_WORKERS) if _pids[slot]),
            key=lambda pair: pair[1],
            default=(self.slot, 0),
        )

    def run(self):
        """Listen to this slot's wake-up pipe too, then run gthread's loop."""
        self.poller.register(_wakeups[self.slot][0], selectors.EVENT_READ, self._drain_wakeups)
        super().run()

    @staticmethod
    def _drain_wakeups(read_end) -> None:
        try:
            os.read(read_end, 4096)
        except BlockingIOError:
            pass

    def set_accept_enabled(self, enabled):
        """Listen or not, as gthread does; on stopping, wake the least loaded worker so that it listens."""
        super().set_accept_enabled(enabled)
        if not enabled and self.alive:
            slot = self._least_loaded()[0]
            if slot != self.slot:
                try:
                    os.write(_wakeups[slot][1], b"\0")
                except BlockingIOError:
                    pass  # its pipe is full of wake-ups already

    def accept(self, listener):
        """Accept as gthread does, unless another live worker now holds fewer connections: then stop listening.

        A worker re-checks whether it may listen only between two waits of its event loop (up to a second when its
        connections are idle), so another's connection may close meanwhile: both are then woken by the next
        client, and the one that holds more would take it. Checked here, at the moment of accepting, it leaves
        the client to the least loaded worker, which is listening (and is woken by set_accept_enabled).
        """
        if self._nr_conns > self._least_loaded()[1]:
            self.set_accept_enabled(False)
            return
        super().accept(listener)

    def wait_for_and_dispatch_events(self, timeout):
        """Wait as gthread does, but at most 0.1 s while not listening (so as to take over soon enough)."""
        super().wait_for_and_dispatch_events(timeout if self._accepting else min(timeout, 0.1))

    def enqueue_req(self, conn):
        """Give `conn` to a thread once its request (head and body) has arrived; until then the event loop reads it."""
        conn.head = bytearray()
        conn.body_start = None  # offset of the body in conn.head once the head is complete
        conn.head_deadline = time.monotonic() + HEAD_TIMEOUT
        conn.sock.setblocking(False)
        if conn.parser is not None and conn.parser.unreader.buf.getvalue():
            # Pipelined bytes the parser read ahead: the start of the next request, looked at like any other.
            conn.head += conn.parser.unreader.buf.getvalue()
            conn.parser.unreader.buf = io.BytesIO()
            state = self._examine(conn)
        else:
            state = self._collect_request(conn)  # a kept-alive connection usually has its request here already
        if state == _WAITING:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_request_readable, conn))
            self.pending_heads.add(conn)

    def _on_request_readable(self, conn, client):
        if self._collect_request(conn, registered=True) != _WAITING:
            self.pending_heads.discard(conn)

    def _collect_request(self, conn, registered=False) -> str:
        """Read what has arrived; hand the connection to a thread once the head, and any body, are complete."""
        try:
            chunk = conn.sock.recv(HEAD_LIMIT if conn.body_start is None else 1024 * 1024)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return _WAITING
            chunk = b""
        if not chunk:  # closed by the client
            return self._drop(conn, registered)
        conn.head += chunk
        return self._examine(conn, registered)

    def _examine(self, conn, registered=False) -> str:
        """Hand over, refuse or keep waiting, from what `conn.head` holds so far."""
        if conn.body_start is None:
            head_end = conn.head.find(_HEAD_END)
            if head_end < 0 and len(conn.head) < HEAD_LIMIT:
                return _WAITING
            if head_end < 0 or not self._expect_body(conn, head_end + 4):
                return self._hand_over(conn, registered)  # no body, or a head the parser is to refuse
        return self._body_progress(conn, registered)

    def _expect_body(self, conn, body_start: int) -> bool:
        """Note what body the head announces; False when there is none to wait for (or the parser must judge)."""
        head = bytes(conn.head[:body_start])
        lengths, chunked = _CONTENT_LENGTH.findall(head), _CHUNKED.search(head) is not None
        if chunked == bool(lengths) or len(set(lengths)) > 1:
            return False  # no body, or both framings, or conflicting lengths: the parser decides
        conn.body_length = None if chunked else int(lengths[0])
        if conn.body_length == 0 or (conn.body_length or 0) > BODY_BUFFER_LIMIT:
            return False  # nothing to wait for, or too large: the app answers 413 without reading it
        expects = _EXPECT_CONTINUE.search(head)
        if expects:  # the client waits for this before sending its body; gunicorn must not send it again
            conn.head[expects.start() : expects.end()] = b""
            body_start -= expects.end() - expects.start()
            util.write_nonblock(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.body_start, conn.body_scan = body_start, body_start
        conn.body_started = time.monotonic()
        return True

    def _body_progress(self, conn, registered: bool) -> str:
        received = len(conn.head) - conn.body_start
        if conn.body_length is not None:
            if received >= conn.body_length:
                return self._hand_over(conn, registered)
        else:
            end, conn.body_scan, valid = body_end(conn.head, conn.body_start, conn.body_scan)
            if not valid:
                return self._refuse(conn, 400, registered)
            if end is not None or received > BODY_BUFFER_LIMIT:
                return self._hand_over(conn, registered)
        # A body keeps its connection for BODY_TIMEOUT seconds, then for as long as it arrives at BODY_MIN_RATE.
        conn.head_deadline = conn.body_started + BODY_TIMEOUT + received / BODY_MIN_RATE
        return _WAITING

    def _hand_over(self, conn, registered: bool) -> str:
        if registered:
            self.poller.unregister(conn.sock)
        conn.init()  # plain HTTP/1: only builds the parser, no I/O
        head_end = conn.head.find(_HEAD_END) + 4 if conn.body_start is None else conn.body_start
        if head_end < 4 or head_end >= len(conn.head):
            conn.parser.unreader.unread(conn.head)  # a head alone (or one too large): small
        else:
            leftover = conn.parser.unreader.take_buffered()  # none, in practice: the parser has not read yet
            conn.parser.unreader = BufferedUnreader(conn.sock, conn.head, head_end)
            conn.parser.unreader.unread(bytes(conn.head[:head_end]) + leftover)
        conn.head = None
        conn.data_ready = True
        super().enqueue_req(conn)
        return _HANDED_OVER

    def _refuse(self, conn, status: int, registered: bool) -> str:
        """Answer `status` from here (the request never reaches a thread) and close."""
        try:
            conn.sock.send(error_answer(status))
        except OSError:
            pass  # the client is gone or not reading: closing is all there is to do
        return self._drop(conn, registered)

    def _drop(self, conn, registered: bool) -> str:
        if registered:
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()
        return _CLOSED

    def finish_request(self, conn, fs):
        """As gthread does; bytes received past the request (pipelined) are moved where gthread looks for them."""
        unreader = getattr(conn.parser, "unreader", None)
        if isinstance(unreader, BufferedUnreader) and unreader.received is not None:
            unreader.buf.seek(0, io.SEEK_END)
            unreader.buf.write(unreader.take_received())
        super().finish_request(conn, fs)

    def init_signals(self):
        """gthread's signals; also the French error answers of the parser's refusals (this process only)."""
        super().init_signals()
        util.write_error = _write_french_error

    def murder_pending(self):
        """Close connections whose head or body did not arrive in time (408), then gthread's own pending ones."""
        now = time.monotonic()
        for conn in [conn for conn in self.pending_heads if conn.head_deadline <= now]:
            self.pending_heads.discard(conn)
            if conn.head:  # part of a request arrived: say why the connection closes
                self._refuse(conn, 408, registered=True)
            else:
                self._drop(conn, registered=True)
        super().murder_pending()
