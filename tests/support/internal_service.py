"""Stand-ins for what an attacker points the Jira connection at: an internal HTTP service and a port that hangs up.

`InternalService` answers every request with one configured status, headers and body (a secret the caller
must never see) and records what it was asked; `HangUpPort` accepts connections and closes them at once,
the way a non-HTTP service (Redis, PostgreSQL) looks to an HTTP client. Both listen on 127.0.0.1.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET_BODY = "internal-service-secret-4f1c"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        service: InternalService = self.server.service  # type: ignore[attr-defined]
        service.requests.append(f"{self.command} {self.path}")
        service.hosts.append(self.headers.get("Host", ""))
        body = service.body.encode()
        self.send_response(service.status, service.reason)
        for name, value in service.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


class InternalService:
    def __init__(
        self,
        *,
        status: int = 404,
        body: str = SECRET_BODY,
        headers: dict[str, str] | None = None,
        reason: str | None = None,
    ) -> None:
        self.status = status
        # The status line's reason phrase is the server's to choose, like the body.
        self.reason = reason
        self.body = body
        self.headers = headers or {"Content-Type": "text/plain"}
        self.requests: list[str] = []
        self.hosts: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.service = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="internal-service", daemon=True)

    def serve_tls(self, context: ssl.SSLContext) -> None:
        """Answer over TLS from now on (call before the first request)."""
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def internal_service(**options: Any) -> Iterator[InternalService]:
    service = InternalService(**options)
    service._thread.start()
    try:
        yield service
    finally:
        service._server.shutdown()
        service._server.server_close()


@contextmanager
def hang_up_port() -> Iterator[int]:
    """A listening port that accepts each connection and closes it without a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)  # so the accept loop notices `stop`
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.close()

    thread = threading.Thread(target=serve, name="hang-up-port", daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
