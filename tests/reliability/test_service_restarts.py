"""Redis and PostgreSQL restarted under a running system: private servers, a real gunicorn and Celery worker.

The machine's shared servers are never touched: each test starts its own redis-server or PostgreSQL cluster
on a free port, points the processes it starts at it, and restarts that one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle
from tests.intelligence.builders import build_world
from tests.reliability.conftest import employee_day_states, hr_headers, marker_reached, wait_until
from tests.support.private_services import (
    celery_worker,
    gunicorn_server,
    private_postgres,
    private_redis,
    session_database_url,
)
from timesheets.models import Employee

pytestmark = pytest.mark.slow


def _client(port: int, handle: TenantHandle, auth: dict[str, str], timeout: float = 10) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Host": handle.host, **auth}, timeout=timeout)


def _wait_job(client: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, object]:
    body: dict[str, object] = {}

    def ended() -> bool:
        nonlocal body
        body = client.get(f"/api/jobs/{job_id}").json()
        return body.get("status") in ("succeeded", "failed")

    wait_until(ended, timeout=timeout, what=f"job {job_id} to end", interval=0.2)
    return body


def test_a_redis_restart_during_a_job_fails_it_clearly_while_reads_keep_being_served(
    committed: dict[str, TenantHandle], tmp_path: Path
) -> None:
    handle = committed["alpha"]
    with tenant_context(handle.tenant):
        world = build_world(employees=12, days=2)
    auth = hr_headers(handle)
    marker = tmp_path / "marker"
    with private_redis() as redis_server:
        env = {"REDIS_TEST_URL": redis_server.url(0), "CELERY_TEST_BROKER_URL": redis_server.url(1)}
        faults = {"HRMS_FAULT_CHUNK_SIZE": "3", "HRMS_FAULT_COMPUTE_DELAY": "1.0", "HRMS_FAULT_MARKER": str(marker)}
        with (
            gunicorn_server(tmp_path / "web.log", **env) as (_web, port),
            celery_worker(tmp_path / "worker.log", **env, **faults) as worker,
            _client(port, handle, auth) as api,
        ):
            period = {"start_date": str(world.start), "end_date": str(world.end)}
            accepted = api.post("/api/timesheet-intelligence/generate", json=period)
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["job_id"]
            wait_until(marker_reached(marker, "compute 2"), timeout=60, what="the job to be half-way")

            redis_server.stop()
            outage_reads = [api.get("/api/employees") for _ in range(5)]
            outage_job = api.get(f"/api/jobs/{job_id}")
            time.sleep(1.5)  # the worker reaches its next lease renewal while Redis is down
            redis_server.start()

            assert [r.status_code for r in outage_reads] == [200] * 5
            assert outage_reads[0].json()["count"] == 12
            assert outage_job.status_code == 200
            ended = _wait_job(api, job_id)
            assert ended["status"] == "failed", ended
            assert "lease was lost" in str(ended["error"])
            states = employee_day_states(handle, world)
            assert states["whole"] % (3 * 2) == 0
            assert states["whole"] + states["untouched"] == 12 * 2

            # The worker and the web process reconnect to the restarted Redis: a new run completes.
            again = api.post("/api/timesheet-intelligence/generate", json=period)
            assert again.status_code == 202, again.text
            assert _wait_job(api, again.json()["job_id"])["status"] == "succeeded", worker.output()[-3000:]
    assert employee_day_states(handle, world) == {"whole": 12 * 2, "untouched": 0}


@dataclass
class Sample:
    started: float
    seconds: float
    status: int  # 0: no HTTP answer at all


def _load(port: int, handle: TenantHandle, auth: dict[str, str], stop: threading.Event, out: list[Sample]) -> None:
    with _client(port, handle, auth, timeout=15) as api:
        while not stop.is_set():
            started = time.monotonic()
            try:
                status = api.get("/api/employees").status_code
            except httpx.HTTPError:
                status = 0
            out.append(Sample(started, time.monotonic() - started, status))
            time.sleep(0.02)


def test_a_postgres_restart_under_load_fails_requests_fast_then_recovers_without_restarting_web(
    committed: dict[str, TenantHandle], tmp_path: Path
) -> None:
    handle = committed["alpha"]
    with tenant_context(handle.tenant):
        Employee.objects.create(name="Ada", email="ada@alpha.test", email_index="ada-index")
    auth = hr_headers(handle)
    with private_postgres() as pg:
        pg.copy_database(source_url=session_database_url(), dbname="hrms_copy")
        env = {"DATABASE_URL": pg.dsn("hrms_copy"), "DATABASE_CONNECT_TIMEOUT": "2", "DATABASE_POOL_TIMEOUT": "3"}
        with gunicorn_server(tmp_path / "web.log", **env) as (web, port):
            with _client(port, handle, auth) as warm:
                wait_until(lambda: warm.get("/api/employees").status_code == 200, timeout=30, what="the web process")
            workers_before = {child.pid for child in psutil.Process(web.pid).children()}
            samples: list[Sample] = []
            stop = threading.Event()
            threads = [threading.Thread(target=_load, args=(port, handle, auth, stop, samples)) for _ in range(4)]
            for thread in threads:
                thread.start()
            try:
                time.sleep(2)
                down_at = time.monotonic()
                pg.stop()
                time.sleep(4)
                pg.start()
                up_at = time.monotonic()
                time.sleep(10)
            finally:
                stop.set()
                for thread in threads:
                    thread.join(timeout=30)
            workers_after = {child.pid for child in psutil.Process(web.pid).children()}
            log = web.output()

    before = [s for s in samples if s.started + s.seconds < down_at]
    during = [s for s in samples if down_at + 0.5 < s.started < up_at - 0.5]
    settled = [s for s in samples if s.started > up_at + 6]
    assert before
    assert all(s.status == 200 for s in before), log[-3000:]
    assert during, "no request was made during the outage"
    # Fail fast: an error answer within the pool timeout, never a hang or a dropped connection.
    assert all(s.status >= 500 for s in during), {s.status for s in during}
    assert max(s.seconds for s in during) < 5, max(s.seconds for s in during)
    # Recovered: the same web processes answer again once PostgreSQL is back.
    assert settled
    assert all(s.status == 200 for s in settled), [s.status for s in settled][:20]
    first_ok_after = min(s.started + s.seconds for s in samples if s.started > up_at and s.status == 200)
    assert first_ok_after - up_at < 6, first_ok_after - up_at
    assert workers_before == workers_after, log[-3000:]
