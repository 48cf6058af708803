"""gunicorn worker class: gthread that spreads connections evenly and never lends a thread to a slow client.

Two changes to gunicorn's gthread worker, both on its main (event-loop) thread:

- **Balance.** Stock gthread accepts whenever the listening socket is readable, so the worker that wakes first
  takes most of a burst of keep-alive connections and then serves them on one core. Here each worker publishes
  in a small shared table how many connections it holds and whether it listens, and stops listening while
  another listening worker holds fewer (the least loaded listener never stops, so accepting never stops; a
  worker that does not listen looks again every 0.1 s at most).
- **Request heads read off-thread.** Stock gthread hands a connection to a thread as soon as one byte arrives,
  and the thread then blocks until the head is complete: clients sending their headers a byte a second take
  every thread. Here the main loop collects the head without blocking and gives the connection to a thread only
  once the head is complete (or too large, for the parser to refuse); a head not complete after
  `HEAD_TIMEOUT` seconds is dropped.
"""
from __future__ import annotations

import errno
import multiprocessing
import os
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import ThreadWorker

MAX_WORKERS = 64
HEAD_TIMEOUT = 10.0
HEAD_LIMIT = 64 * 1024  # bigger than gunicorn's own limits: the parser answers 431/400 past them
_HEAD_END = b"\r\n\r\n"
_WAITING, _HANDED_OVER, _CLOSED = "waiting", "handed over", "closed"

# Created when gunicorn's arbiter imports this module (before forking), so every worker shares them.
_pids = multiprocessing.RawArray("i", MAX_WORKERS)
_connections = multiprocessing.RawArray("i", MAX_WORKERS)
_listening = multiprocessing.RawArray("b", MAX_WORKERS)
_slots_lock = multiprocessing.Lock()


def release_slot(pid: int) -> None:
    """Forget a worker that exited (called by the arbiter's child_exit hook)."""
    with _slots_lock:
        for slot in range(MAX_WORKERS):
            if _pids[slot] == pid:
                _pids[slot] = 0
                _connections[slot] = 0
                _listening[slot] = 0


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
            _listening[self.slot] = 0
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
        if self._another_listener_holds_fewer():
            return self._nr_conns  # makes gthread stop listening
        return self._connection_limit

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._connection_limit = value

    def _another_listener_holds_fewer(self) -> bool:
        mine = self._nr_conns
        return any(_listening[slot] and _connections[slot] < mine and _pids[slot]
                   for slot in range(MAX_WORKERS) if slot != self.slot)

    def set_accept_enabled(self, enabled):
        """Listen or not, as gthread does, and publish it."""
        super().set_accept_enabled(enabled)
        _listening[self.slot] = int(self._accepting)

    def wait_for_and_dispatch_events(self, timeout):
        """Wait as gthread does, but at most 0.1 s while not listening (so as to take over soon enough)."""
        super().wait_for_and_dispatch_events(timeout if self._accepting else min(timeout, 0.1))

    def enqueue_req(self, conn):
        """Give `conn` to a thread once its request head has arrived; until then the event loop reads it."""
        if conn.parser is not None and conn.parser.unreader.buf.getvalue():
            super().enqueue_req(conn)  # pipelined bytes already read: the head is (being) parsed from memory
            return
        conn.head = b""
        conn.head_deadline = time.monotonic() + HEAD_TIMEOUT
        conn.sock.setblocking(False)
        if self._collect_head(conn) == _WAITING:  # a kept-alive connection usually has its head here already
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_readable, conn))
            self.pending_heads.add(conn)

    def _on_head_readable(self, conn, client):
        if self._collect_head(conn, registered=True) != _WAITING:
            self.pending_heads.discard(conn)

    def _collect_head(self, conn, registered=False) -> str:
        """Read what has arrived; hand the connection to a thread once the head is complete."""
        try:
            chunk = conn.sock.recv(HEAD_LIMIT)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return _WAITING
            chunk = b""
        if registered and (not chunk or _HEAD_END in conn.head + chunk or len(conn.head + chunk) >= HEAD_LIMIT):
            self.poller.unregister(conn.sock)
        if not chunk:  # closed by the client
            self.nr_conns -= 1
            conn.close()
            return _CLOSED
        conn.head += chunk
        if _HEAD_END not in conn.head and len(conn.head) < HEAD_LIMIT:
            return _WAITING
        conn.init()  # plain HTTP/1: only builds the parser, no I/O
        conn.parser.unreader.unread(conn.head)
        conn.head = b""
        conn.data_ready = True
        super().enqueue_req(conn)
        return _HANDED_OVER

    def murder_pending(self):
        """Drop connections whose head did not arrive in time, then gthread's own pending ones."""
        now = time.monotonic()
        for conn in [conn for conn in self.pending_heads if conn.head_deadline <= now]:
            self.pending_heads.discard(conn)
            self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            conn.close()
        super().murder_pending()
