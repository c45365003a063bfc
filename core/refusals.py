"""Which client connections were just refused for a spent budget (no Django here: the web worker imports it).

The refusing code (hrms/ratelimits.py) notes the connection's socket from the WSGI environ; gunicorn's worker
(hrms/gunicorn_worker.py) asks after each request and pauses such a connection before reading it again.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

_refused_sockets: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()


def refused_connection_note(environ: Any) -> None:
    """Note the connection of this request (gunicorn's `gunicorn.socket`); nothing outside gunicorn."""
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        with _lock:
            _refused_sockets.add(sock)


def refused_connection_take(sock: Any) -> bool:
    """Whether the last request on this socket was refused (forgotten once asked)."""
    with _lock:
        if sock in _refused_sockets:
            _refused_sockets.discard(sock)
            return True
        return False
