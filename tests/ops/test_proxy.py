"""Slow clients: sockets that never finish their header stall gunicorn alone, not gunicorn behind nginx (real both).

gunicorn runs with the product's configuration and the production shape (4 processes x 2 threads); nginx runs
with deploy/nginx/nginx.conf and the server rendered from deploy/nginx/templates/default.conf.template, as the
nginx image renders it. Both are started here, on free loopback ports, and stopped by their pids.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import statistics
import string
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.private_services import HOST, ROOT, Spawned, free_port, gunicorn_server, port_open, wait_for

pytestmark = pytest.mark.slow

DEPLOY = ROOT / "deploy" / "nginx"
SLOW_SOCKETS = 200
PROBES = 10
CONTROL_PROBES = 4  # each waits PROBE_TIMEOUT
FAST_ENOUGH = 0.100  # seconds, for /healthz through nginx while the slow sockets are open
PROBE_TIMEOUT = 3.0  # what a load balancer's health check would wait


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        pytest.fail("nginx is not installed (`make nginx` installs Debian's nginx-light)")
    return found


@contextlib.contextmanager
def nginx_proxy(*, upstream_port: int, workdir: Path) -> Iterator[int]:
    """nginx with the deployed configuration in front of 127.0.0.1:`upstream_port`; yields its port."""
    port = free_port()
    (workdir / "conf.d").mkdir(parents=True)
    shutil.copy(DEPLOY / "nginx.conf", workdir / "nginx.conf")
    shutil.copy(Path("/etc/nginx/mime.types"), workdir / "mime.types")
    # The nginx image's entrypoint fills in its environment's variables with envsubst; nginx's own `$name`
    # variables are not in that environment and stay as they are, as they do with safe_substitute.
    template = string.Template((DEPLOY / "templates" / "default.conf.template").read_text())
    rendered = template.safe_substitute(HRMS_UPSTREAM=f"{HOST}:{upstream_port}", NGINX_LISTEN=f"{HOST}:{port}")
    (workdir / "conf.d" / "default.conf").write_text(rendered)
    # Run in the foreground (so the pid we hold is the master's), with the pid file here, and, when started as
    # root, workers that drop to Debian's web server user as the image's drop to `nginx`.
    directives = f"daemon off; pid {workdir / 'nginx.pid'};" + (" user www-data;" if os.geteuid() == 0 else "")
    server = Spawned(
        [nginx_binary(), "-c", str(workdir / "nginx.conf"), "-e", str(workdir / "error.log"), "-g", directives],
        dict(os.environ),
        workdir / "nginx.log",
    )
    try:
        if not wait_for(lambda: port_open(port) or server.process.poll() is not None, timeout=20):
            raise RuntimeError(f"nginx did not start:\n{server.output()[-3000:]}")
        if server.process.poll() is not None:
            raise RuntimeError(f"nginx exited:\n{server.output()[-3000:]}")
        yield port
    finally:
        server.stop()


@contextlib.contextmanager
def slow_clients(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that send a request line and one header, then nothing, until the block ends."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((HOST, port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sockets.append(sock)
        # The servers accept and start reading them; a real attacker would have been at it for a while.
        time.sleep(1.0)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def probe_healthz(port: int) -> float | None:
    """Seconds for GET /healthz on a new connection, or None when it got no answer within PROBE_TIMEOUT."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(HOST, port, timeout=PROBE_TIMEOUT)
    try:
        connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        body = response.read()
    except TimeoutError:
        return None
    finally:
        connection.close()
    elapsed = time.monotonic() - started
    assert response.status == 200, body
    assert json.loads(body) == {"status": "ok"}
    return elapsed


def _report(label: str, seconds: list[float | None]) -> str:
    answered = [s for s in seconds if s is not None]
    shown = ", ".join("timeout" if s is None else f"{s * 1000:.1f}" for s in seconds)
    median = f"{statistics.median(answered) * 1000:.1f} ms" if answered else "none answered"
    return f"{label}: median {median}, each (ms): {shown}"


def test_healthz_through_nginx_stays_fast_while_200_slow_clients_hold_connections_that_stall_gunicorn_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"WEB_CONCURRENCY": "4", "GUNICORN_THREADS": "2"}
    with (
        gunicorn_server(tmp_path / "web.log", **env) as (_web, web_port),
        nginx_proxy(upstream_port=web_port, workdir=tmp_path / "nginx") as proxy_port,
    ):
        assert probe_healthz(proxy_port) is not None  # warm: the kept-alive upstream connection exists
        metrics = http.client.HTTPConnection(HOST, proxy_port, timeout=PROBE_TIMEOUT)
        metrics.request("GET", "/metrics", headers={"Host": "127.0.0.1"})
        assert metrics.getresponse().status == 404  # scraped inside the network, never through the entrance
        metrics.close()

        with slow_clients(proxy_port, SLOW_SOCKETS):
            through_nginx = [probe_healthz(proxy_port) for _ in range(PROBES)]

        with slow_clients(web_port, SLOW_SOCKETS):
            direct = [probe_healthz(web_port) for _ in range(CONTROL_PROBES)]

        # Once the slow sockets are gone, gunicorn alone answers again: it was their threads, not a crash.
        assert wait_for(lambda: probe_healthz(web_port) is not None, timeout=15)

    with capsys.disabled():
        sys.stdout.write(f"\n{_report('healthz through nginx with 200 slow clients', through_nginx)}\n")
        sys.stdout.write(f"{_report('healthz at gunicorn with 200 slow clients', direct)}\n")
    assert all(seconds is not None and seconds < FAST_ENOUGH for seconds in through_nginx), through_nginx
    # The control: without nginx the same sockets take gunicorn's threads and /healthz goes unanswered. gunicorn
    # drops a stalled connection after its own timeout, so a later probe may slip through as threads free up:
    # what the control shows is that the first probe, made while every slow socket is held, gets no answer.
    assert direct[0] is None or direct[0] >= PROBE_TIMEOUT / 2, direct
