"""A client that keeps asking past its tenant's ML budget is slowed down, and nobody else notices (real gunicorn)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from django.core.cache import caches

from hrms.gunicorn_worker import REFUSED_PAUSE_SECONDS
from tenants.models import Tenant
from tests.conftest import TenantHandle
from tests.reliability.conftest import hr_headers
from tests.support.private_services import gunicorn_server

pytestmark = pytest.mark.slow

PENDING = "/api/timesheet-intelligence/suggestions/pending"
FLOOD_CONNECTIONS = 6  # more than the web worker's 4 threads: a pause that held a thread would starve others
FLOOD_SECONDS = 3.0


def _client(port: int, handle: TenantHandle, auth: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Host": handle.host, **auth}, timeout=10)


def test_a_connection_asking_past_its_budget_is_paused_while_other_tenants_are_served_at_once(
    committed: dict[str, TenantHandle], tmp_path: Path
) -> None:
    alpha, beta = committed["alpha"], committed["beta"]
    budgets = {
        handle.tenant.id: Tenant.objects.get(id=handle.tenant.id).ml_rate_limit_per_minute for handle in (alpha, beta)
    }
    Tenant.objects.filter(id=alpha.tenant.id).update(ml_rate_limit_per_minute=1)
    Tenant.objects.filter(id=beta.tenant.id).update(ml_rate_limit_per_minute=100_000)  # its own budget is not tested
    caches["shared"].clear()  # the web process must read the new budgets, not cached tenants
    try:
        alpha_auth, beta_auth = hr_headers(alpha), hr_headers(beta)
        with gunicorn_server(tmp_path / "web.log") as (_web, port):
            flood: list[tuple[int, str | None]] = []
            stop = threading.Event()

            def keep_asking() -> None:
                with _client(port, alpha, alpha_auth) as client:  # one keep-alive connection
                    while not stop.is_set():
                        response = client.get(PENDING)
                        flood.append((response.status_code, response.headers.get("Retry-After")))

            with _client(port, beta, beta_auth) as other:
                assert other.get(PENDING).status_code == 200  # warm
                flooders = [threading.Thread(target=keep_asking) for _ in range(FLOOD_CONNECTIONS)]
                started = time.monotonic()
                for flooder in flooders:
                    flooder.start()
                time.sleep(0.5)
                waits = []
                while time.monotonic() - started < FLOOD_SECONDS:
                    asked = time.monotonic()
                    assert other.get(PENDING).status_code == 200
                    waits.append(time.monotonic() - asked)
                stop.set()
                for flooder in flooders:
                    flooder.join(timeout=10)
                elapsed = time.monotonic() - started
    finally:
        for tenant_id, budget in budgets.items():
            Tenant.objects.filter(id=tenant_id).update(ml_rate_limit_per_minute=budget)
        caches["shared"].clear()

    refused = [retry_after for status, retry_after in flood if status == 429]
    assert {status for status, _ in flood} <= {200, 429}
    assert refused
    assert all(retry_after is not None and int(retry_after) >= 1 for retry_after in refused)
    # Each connection is read at most once a pause after a refusal (plus the budget's own admissions):
    # unpaused, six loops on loopback would have sent thousands of requests in this time.
    most = FLOOD_CONNECTIONS * (elapsed / REFUSED_PAUSE_SECONDS + 2)
    assert len(flood) <= most
    # The other tenant, on its own connection, never waited for the paused ones.
    assert len(waits) >= 5
    assert max(waits) < REFUSED_PAUSE_SECONDS
