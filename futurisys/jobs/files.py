"""A job's files stored in the database a chunk at a time, written from and read back as streams."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

import sqlalchemy as sa

from futurisys.jobs.models import CHUNK_BYTES, JobChunk

CHUNKS = JobChunk.__table__


def write_stream(connection, job_id: str, role: str, stream: BinaryIO, start_seq: int = 0) -> int:
    """Store `stream` as chunks of `role` (inside the caller's transaction); return the number of bytes."""
    size, seq = 0, start_seq
    while piece := stream.read(CHUNK_BYTES):
        connection.execute(CHUNKS.insert(), {"job_id": job_id, "role": role, "seq": seq, "data": piece})
        size += len(piece)
        seq += 1
    return size


def write_chunk(connection, job_id: str, role: str, seq: int, data: bytes) -> None:
    """Store one chunk (the scored lines of one committed piece of work)."""
    connection.execute(CHUNKS.insert(), {"job_id": job_id, "role": role, "seq": seq, "data": data})


def iter_chunks(engine, job_id: str, role: str) -> Iterator[bytes]:
    """The chunks of a file in order, one query each: a 256 MiB file is never in memory at once."""
    seq = -1
    while True:
        with engine.connect() as connection:
            row = connection.execute(
                sa.select(CHUNKS.c.seq, CHUNKS.c.data)
                .where(CHUNKS.c.job_id == job_id, CHUNKS.c.role == role, CHUNKS.c.seq > seq)
                .order_by(CHUNKS.c.seq)
                .limit(1)
            ).first()
        if row is None:
            return
        seq = row.seq
        yield bytes(row.data)


def has_file(connection, job_id: str, role: str) -> bool:
    """Whether `role` has at least one stored chunk."""
    query = sa.select(CHUNKS.c.seq).where(CHUNKS.c.job_id == job_id, CHUNKS.c.role == role).limit(1)
    return connection.execute(query).first() is not None


class ChunkReader(io.RawIOBase):
    """A read-only binary stream over a stored file (what the CSV reader reads, a chunk at a time)."""

    def __init__(self, engine, job_id: str, role: str):
        self._engine, self._job_id, self._role = engine, job_id, role
        self._restart()

    def _restart(self) -> None:
        self._chunks = iter_chunks(self._engine, self._job_id, self._role)
        self._buffer = memoryview(b"")
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # only back to the start, which is all the CSV reader's second try needs

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR and offset == 0:
            return self._position
        if (offset, whence) != (0, io.SEEK_SET):
            raise io.UnsupportedOperation("a stored file is read from its start")
        self._restart()
        return 0

    def readinto(self, target) -> int:
        while not self._buffer:
            piece = next(self._chunks, None)
            if piece is None:
                return 0
            self._buffer = memoryview(piece)
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        self._position += count
        return count


def open_file(engine, job_id: str, role: str) -> io.BufferedReader:
    """A buffered binary stream over a stored file."""
    return io.BufferedReader(ChunkReader(engine, job_id, role), buffer_size=CHUNK_BYTES)


def delete_files(connection, job_id: str) -> None:
    """Remove every stored file of a job (retention, cancellation)."""
    connection.execute(CHUNKS.delete().where(CHUNKS.c.job_id == job_id))
