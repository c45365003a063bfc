"""The web worker: gunicorn's threaded worker, plus a pause for connections that keep asking past their budget.

When the ML budget of a tenant is spent, every further request gets a 429 with Retry-After (hrms/ratelimits.py).
A client that ignores it and asks again at once on the same keep-alive connection would otherwise take the
worker's CPU from every other tenant, however cheap each refusal is. So after such a refusal the worker does
not read that connection's next request for `REFUSED_PAUSE_SECONDS`: the connection waits in a heap here, not
in a thread, and other connections are served meanwhile. A flooding client is slowed to one request per pause
per connection; nobody else notices.

Selected in hrms/gunicorn.conf.py (`worker_class`).
"""

from __future__ import annotations

import heapq
import itertools
import time
from concurrent.futures import Future
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from core.refusals import refused_connection_take

REFUSED_PAUSE_SECONDS = 0.5


def _kept_alive() -> Future[bool]:
    """The outcome `finish_request` expects of a request whose connection stays open."""
    outcome: Future[bool] = Future()
    outcome.set_result(True)
    return outcome


class PausingThreadWorker(ThreadWorker):  # type: ignore[misc]
    def init_process(self) -> None:
        # (monotonic time to read again, tie-breaker, connection), earliest first.
        self._paused: list[tuple[float, int, Any]] = []
        self._order = itertools.count()
        super().init_process()

    def finish_request(self, conn: Any, fs: Any) -> None:
        """Main thread, after each request: a refused keep-alive connection is paused instead of polled."""
        if self.alive and self._refused_and_kept_alive(conn, fs):
            heapq.heappush(self._paused, (time.monotonic() + REFUSED_PAUSE_SECONDS, next(self._order), conn))
            return
        super().finish_request(conn, fs)

    @staticmethod
    def _refused_and_kept_alive(conn: Any, fs: Any) -> bool:
        refused = refused_connection_take(conn.sock)  # always taken, so the record never outlives the request
        return refused and not fs.cancelled() and fs.exception() is None and fs.result() is True

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        self._resume_paused()
        if self._paused:
            timeout = min(timeout, max(0.0, self._paused[0][0] - time.monotonic()))
        super().wait_for_and_dispatch_events(timeout)
        self._resume_paused()

    def _resume_paused(self) -> None:
        """Back to the poller: connections whose pause is over, or all of them once the worker is stopping."""
        now = time.monotonic()
        while self._paused and (not self.alive or self._paused[0][0] <= now):
            _, _, conn = heapq.heappop(self._paused)
            super().finish_request(conn, _kept_alive())
