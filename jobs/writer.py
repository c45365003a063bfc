"""Overlaps a job's computing with its writing: chunks are written on a thread with a connection of its own.

A chunked job alternates between Python work (reading evidence, computing rows) and database work (COPY,
index maintenance, commit). On a multi-core host the two can run at once: while the writer thread's
connection commits chunk N, the job computes chunk N+1. The queue holds at most `depth` chunks, so memory
stays bounded by the chunk size, not by the job's size.

The writer's connection is a separate database session: it cannot see the caller's uncommitted rows. So a
job that runs inside an open transaction (a test's, or a caller's `atomic` block) writes in line instead.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from django.db import connection, connections

from core.schema import use_tenant

logger = logging.getLogger(__name__)

Chunk = TypeVar("Chunk")
_STOP = object()


class ChunkWriter(Generic[Chunk]):
    """`submit` hands a chunk to `write`; `close` waits for every chunk and re-raises the first write error."""

    def __init__(self, write: Callable[[Chunk], None], *, depth: int = 1, name: str = "chunk-writer") -> None:
        self._write = write
        # Inside an open transaction a second session would not see this one's rows: write in line.
        self.pipelined = not connection.in_atomic_block
        self._error: BaseException | None = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._thread: threading.Thread | None = None
        if self.pipelined:
            tenant = getattr(connection, "tenant", None)
            self._thread = threading.Thread(target=self._loop, args=(tenant,), name=name, daemon=True)
            self._thread.start()

    def __enter__(self) -> ChunkWriter[Chunk]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
            return
        # The writer finishes what it holds. A write that failed meanwhile is the cause worth reporting (a
        # refused stale write, say, rather than the lease renewal that failed after it); else the caller's.
        self._stop()
        self._raise_if_failed()

    def submit(self, chunk: Chunk) -> None:
        """Queue a chunk (blocks while `depth` chunks wait); raises at once if an earlier write failed."""
        self._raise_if_failed()
        if not self.pipelined:
            self._write(chunk)
            return
        self._queue.put(chunk)

    def close(self) -> None:
        self._stop()
        self._raise_if_failed()

    def _stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _loop(self, tenant: Any) -> None:
        try:
            if tenant is not None:
                use_tenant(tenant)  # this thread's own connection, in the job's tenant schema
            while True:
                chunk = self._queue.get()
                if chunk is _STOP:
                    return
                if self._error is None:  # after a failure, drain without writing so the caller never blocks
                    try:
                        self._write(chunk)
                    except BaseException as error:
                        self._error = error
        finally:
            connections.close_all()
