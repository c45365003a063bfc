"""A real PostgreSQL streaming replica of the local server, for tests: pg_basebackup -R, start, catch up, stop."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

REPLICATION_RULE = "host replication all 127.0.0.1/32 trust"


def _primary(dsn: str) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=True)


def _bindir(dsn: str) -> Path:
    with _primary(dsn) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000  # type: ignore[index]
    for candidate in (Path(f"/usr/lib/postgresql/{major}/bin"), Path(shutil.which("pg_basebackup") or "").parent):
        if (candidate / "pg_basebackup").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise RuntimeError(f"pg_basebackup for PostgreSQL {major} not found")


def _allow_local_replication(dsn: str) -> None:
    """Idempotently allow replication connections from 127.0.0.1 (the stock Debian pg_hba has none)."""
    with _primary(dsn) as conn:
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])  # type: ignore[index]
        if REPLICATION_RULE not in hba.read_text():
            with hba.open("a") as handle:
                handle.write(f"\n# streaming replicas started by the test suite\n{REPLICATION_RULE}\n")
            conn.execute("SELECT pg_reload_conf()")


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _ensure_config_files(datadir: Path) -> None:
    """Debian keeps postgresql.conf and pg_hba.conf in /etc, so a base backup of its data directory has none."""
    files = {
        "postgresql.conf": "# test replica: settings are passed on the command line\n",
        "pg_hba.conf": "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        "pg_ident.conf": "",
    }
    for name, content in files.items():
        path = datadir / name
        if not path.exists():
            path.write_text(content)
            if os.geteuid() == 0:
                shutil.chown(path, "postgres", "postgres")


def _wait_caught_up(primary_dsn: str, replica_dsn: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with _primary(primary_dsn) as primary:
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(replica_dsn, autocommit=True, connect_timeout=2) as replica:
                caught_up = replica.execute(
                    "SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
                ).fetchone()[0]  # type: ignore[index]
                if caught_up:
                    return
        except psycopg.OperationalError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the replica did not catch up in time")


@contextmanager
def streaming_replica(*, primary_dsn: str, port: int = 5433) -> Iterator[str]:
    """Yields a DSN (without database name) of a hot standby streaming from the primary on `port`."""
    _allow_local_replication(primary_dsn)
    bindir = _bindir(primary_dsn)
    workdir = Path(tempfile.mkdtemp(prefix="hrms-replica-"))
    datadir = workdir / "data"
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    pg_ctl = str(bindir / "pg_ctl")
    try:
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    "5432",
                    "-U",
                    "postgres",
                    "-D",
                    str(datadir),
                    "-R",
                    "-X",
                    "stream",
                    "--checkpoint=fast",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=300,
        )
        _ensure_config_files(datadir)
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={workdir} -c hot_standby=on"
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(datadir), "-o", options, "-l", str(workdir / "log"), "-w", "start"]),
            check=True,
            capture_output=True,
            timeout=120,
        )
        replica_dsn = f"host=127.0.0.1 port={port} user=postgres"
        _wait_caught_up(primary_dsn, f"{replica_dsn} dbname=postgres")
        yield replica_dsn
    finally:
        if datadir.exists():
            subprocess.run(
                _as_postgres([pg_ctl, "-D", str(datadir), "-m", "fast", "-w", "stop"]),
                check=False,
                capture_output=True,
                timeout=120,
            )
        shutil.rmtree(workdir, ignore_errors=True)


def replica_wait(primary_dsn: str, replica_dsn: str) -> None:
    _wait_caught_up(primary_dsn, replica_dsn)


@contextmanager
def replica_paused(replica_dsn: str) -> Iterator[None]:
    """The replica keeps receiving WAL but stops replaying it: its reads lag the primary until the block ends."""
    with psycopg.connect(replica_dsn, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
