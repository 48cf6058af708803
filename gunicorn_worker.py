"""gunicorn worker class: gthread that spreads connections evenly and never lends a thread to a slow client.

Two changes to gunicorn's gthread worker, both on its main (event-loop) thread:

- **Balance.** Stock gthread accepts whenever the listening socket is readable, so the worker that wakes first
  takes most of a burst of keep-alive connections and then serves them on one core. Here each worker publishes
  in a small shared table how many connections it holds, and listens only while no live worker holds fewer; a
  worker that stops listening wakes the least loaded one through its pipe, so one always listens (and every
  worker looks again every 0.1 s at most while it does not).
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

MAX_WORKERS = 32
HEAD_TIMEOUT = 10.0
HEAD_LIMIT = 64 * 1024  # bigger than gunicorn's own limits: the parser answers 431/400 past them
_HEAD_END = b"\r\n\r\n"
_WAITING, _HANDED_OVER, _CLOSED = "waiting", "handed over", "closed"

# Created when gunicorn's arbiter imports this module (before forking), so every worker shares them.
_pids = multiprocessing.RawArray("i", MAX_WORKERS)
_connections = multiprocessing.RawArray("i", MAX_WORKERS)
_wakeups = [os.pipe() for _ in range(MAX_WORKERS)]  # (read, write) per slot: "you may be the least loaded now"
for _read, _write in _wakeups:
    os.set_blocking(_read, False)
    os.set_blocking(_write, False)
_slots_lock = multiprocessing.Lock()


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
