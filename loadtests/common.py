"""What every benchmark shares: a database of its own, manage.py in a measured child process, free ports."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def database_url(database: str) -> str:
    """DATABASE_URL (or the local default) pointing at another database on the same server."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hrms")
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def admin_sql(url: str, sql: str) -> None:
    """Run one statement on the server's maintenance database (CREATE/DROP DATABASE cannot run inside it)."""
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit((parts.scheme, parts.netloc, "/postgres", "", "")), autocommit=True) as conn:
        conn.execute(sql)


def database_recreate(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_sql(url, f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# VmHWM, not getrusage: on Linux ru_maxrss survives execve, so a child would report its parent's peak.
_MEASURED = (
    "import re, sys\n"
    "from django.core.management import execute_from_command_line\n"
    "execute_from_command_line(['manage.py', *sys.argv[1:]])\n"
    "status = open('/proc/self/status').read()\n"
    "print('PEAK_RSS_KB', re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
)


def manage(*args: str, env: dict[str, str], echo: bool = True) -> tuple[float, int]:
    """Run a manage.py command in its own process; returns (seconds, that process's peak RSS in MB)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args], cwd=ROOT, env=env, check=False, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
        raise SystemExit(f"manage.py {args[0]} failed with exit code {result.returncode}")
    peak_kb = 0
    for line in result.stdout.splitlines():
        match = re.fullmatch(r"PEAK_RSS_KB (\d+)", line)
        if match:
            peak_kb = int(match.group(1))
        elif echo:
            print(f"    {line}")
    return seconds, peak_kb // 1024


BENCH_PASSWORD = "bench-password-1"  # noqa: S105 -- the throwaway benchmark tenants' admins


def bench_cache_prefix() -> str:
    """The Redis key prefix of this benchmark run: its caches and rate-limit counters, cleared at the end."""
    return f"hrms-bench-{os.getpid()}"


def bench_env(url: str, **extra: str) -> dict[str, str]:
    """The development settings against the benchmark database, with a cache prefix of this run's own (a
    recreated database must not meet the last run's cached tenants)."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "hrms.settings",
        "CACHE_KEY_PREFIX": bench_cache_prefix(),
        **extra,
    }


def _bench_cache_clear() -> None:
    """Delete this run's keys from Redis (some, like cache version counters, never expire)."""
    import redis

    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    keys = list(client.scan_iter(match=f"*{bench_cache_prefix()}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


def _django_connections_close() -> None:
    """Close this process's database connections and pools, when the benchmark ran Django in process."""
    if "django.db" not in sys.modules:
        return
    from django.conf import settings
    from django.db import connections

    if not settings.configured:
        return
    connections.close_all()
    for conn in connections.all():
        close_pool = getattr(conn, "close_pool", None)
        if close_pool is not None:
            close_pool()


def bench_finish(url: str, *, keep: bool = False) -> None:
    """The end of every benchmark run: its Redis keys deleted, its connections closed, its database dropped
    (unless kept)."""
    _bench_cache_clear()
    _django_connections_close()
    if not keep:
        database_drop(url)


def bench_tenant_create(slug: str, *, env: dict[str, str]) -> str:
    """`create_tenant` for a benchmark tenant at <slug>.localhost; returns its admin's login."""
    admin = f"admin@{slug}.test"
    manage(
        "create_tenant",
        f"--slug={slug}",
        f"--name={slug.title()}",
        f"--domain={slug}.localhost",
        f"--admin-email={admin}",
        f"--admin-password={BENCH_PASSWORD}",
        env=env,
        echo=False,
    )
    return admin


def tenant_ml_limit_lift(url: str, slug: str) -> None:
    """So high a budget that the limiter (which still runs on every request) is not what a benchmark measures."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("UPDATE tenants_tenant SET ml_rate_limit_per_minute = 10000000 WHERE slug = %s", [slug])


def percentile(values: list[float], share: float) -> float:
    """The value at `share` (0.95 for P95) of the sorted values, by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_http(url: str, *, timeout: float = 60.0, headers: dict[str, str] | None = None) -> None:
    """Poll until the server answers at all (any status), or fail after `timeout` seconds."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, headers=headers or {}, timeout=2.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def product_env(url: str) -> dict[str, str]:
    """The environment of the production settings module, with throwaway keys, against `url`.

    Behind a TLS-terminating proxy in production: the benchmarks send X-Forwarded-Proto instead.
    """
    return bench_env(
        url,
        DJANGO_SETTINGS_MODULE="hrms.settings_production",
        SECRET_KEY="bench-secret-key-" + "x" * 40,
        AUDIT_CHECKPOINT_KEY="bench-checkpoint-key-" + "0123456789abcdef" * 2,
        FIELD_ENCRYPTION_KEYS="bench1:YmVuY2gtbWFzdGVyLWtleS0zMi1ieXRlcy0wMDAwMDA=",
        SECURE_SSL_REDIRECT="true",
    )


def gunicorn_start(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The product's gunicorn configuration file, serving `app` on 127.0.0.1:`port`, in a session of its own."""
    return subprocess.Popen(
        [
            ROOT / ".venv/bin/gunicorn",
            app,
            "-c",
            ROOT / "hrms/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--control-socket",
            log.with_suffix(".ctl"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        start_new_session=True,
    )


def process_stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
