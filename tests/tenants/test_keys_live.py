"""Data-key rotation under a running product: a real gunicorn and Celery worker read and write PII throughout.

`manage.py rotate_encryption_keys --new-data-keys --reencrypt --retire` runs in its own process while HTTP
clients and worker tasks keep reading and writing employees' encrypted national id, bank account and salary.
Nothing may answer 500, no write may be lost, and after the old key is retired every value still decrypts and
every e-mail is still found.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context

from core.ttlcache import ttl_caches_forget
from tenants.crypto import ciphertext_key_id
from tenants.models import Tenant, TenantDataKey
from tenants.services import tenant_create
from tests.conftest import PASSWORD, TenantHandle, make_user, token_for
from tests.reliability.conftest import wait_until
from tests.support.private_services import ROOT, app_env, celery_worker, gunicorn_server
from tests.support.rotation_worker import EMPLOYEES_TOUCH
from tests.support.tasks import broker_purge
from timesheets.models import Employee
from timesheets.services import employee_create

pytestmark = pytest.mark.slow

SLUG = "rotor"
SEEDED = 24


@pytest.fixture
def rotor(tenants: dict[str, TenantHandle], django_db_blocker: Any) -> Iterator[TenantHandle]:
    """A committed tenant of its own: the rotation and the data it writes are really committed."""
    with django_db_blocker.unblock():
        broker_purge()
        if Tenant.objects.filter(slug=SLUG).exists():  # left by an interrupted run
            call_command("delete_tenant", f"--slug={SLUG}", "--yes", stdout=io.StringIO())
        tenant = tenant_create(
            slug=SLUG,
            name="Rotor",
            domain=f"{SLUG}.localhost",
            admin_email=f"admin@{SLUG}.test",
            admin_password=PASSWORD,
        ).tenant
        try:
            yield TenantHandle(tenant=tenant, host=f"{SLUG}.localhost", admin_email=f"admin@{SLUG}.test")
        finally:
            connections.close_all()
            call_command("delete_tenant", f"--slug={SLUG}", "--yes", stdout=io.StringIO())
            broker_purge()
            connections.close_all()


@dataclass
class Traffic:
    """What the HTTP clients did, with wall-clock times (the same clock as the key's created_at)."""

    statuses: list[tuple[float, str, int]] = field(default_factory=list)
    created: list[tuple[float, str, str]] = field(default_factory=list)  # (answered at, id, email)
    salaries: dict[str, str] = field(default_factory=dict)  # employee id -> last salary acknowledged
    misses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _seed(handle: TenantHandle) -> list[Employee]:
    with tenant_context(handle.tenant):
        return [
            employee_create(
                actor=None,
                name=f"Seed {n:02}",
                email=f"seed{n:02}@rotor.test",
                national_id=f"NI-S-{n:04}",
                bank_account=f"DE000{n:04}",
                salary=Decimal("3000.00") + n,
            )
            for n in range(SEEDED)
        ]


def _http(port: int, handle: TenantHandle, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Host": handle.host, "Authorization": f"Token {token}"},
        timeout=15,
    )


def _reader(
    port: int, handle: TenantHandle, token: str, emails: list[str], stop: threading.Event, out: Traffic
) -> None:
    with _http(port, handle, token) as api:
        n = 0
        while not stop.is_set():
            try:
                listing = api.get("/api/employees", params={"page_size": 500})
                out.statuses.append((time.time(), "list", listing.status_code))
                if listing.status_code == 200:
                    rows = listing.json()["results"]
                    if any(row["national_id"] is None or row["salary"] is None for row in rows):
                        out.errors.append("a listed employee came back without its PII")
                email = emails[n % len(emails)]
                found = api.get("/api/employees", params={"email": email})
                out.statuses.append((time.time(), "by-email", found.status_code))
                if found.status_code == 200 and [r["email"] for r in found.json()["results"]] != [email]:
                    out.misses.append(email)
            except httpx.HTTPError as exc:
                out.errors.append(f"reader: {exc!r}")
            n += 1
            time.sleep(0.05)


def _writer(
    port: int, handle: TenantHandle, token: str, patch_ids: list[str], stop: threading.Event, out: Traffic
) -> None:
    with _http(port, handle, token) as api:
        n = 0
        while not stop.is_set():
            try:
                marker = uuid.uuid4().hex[:10]
                created = api.post(
                    "/api/employees",
                    json={
                        "name": f"Web {marker}",
                        "email": f"web-{marker}@rotor.test",
                        "national_id": f"NI-H-{marker}",
                        "bank_account": f"FR{marker}",
                        "salary": "5000.00",
                    },
                )
                out.statuses.append((time.time(), "create", created.status_code))
                if created.status_code == 201:
                    out.created.append((time.time(), created.json()["id"], created.json()["email"]))
                employee_id = patch_ids[n % len(patch_ids)]
                salary = f"{7000 + n}.00"
                patched = api.patch(f"/api/employees/{employee_id}", json={"salary": salary})
                out.statuses.append((time.time(), "patch", patched.status_code))
                if patched.status_code == 200:
                    out.salaries[employee_id] = salary
            except httpx.HTTPError as exc:
                out.errors.append(f"writer: {exc!r}")
            n += 1
            time.sleep(0.05)


def _sender(
    handle: TenantHandle, report_key: str, update_ids: list[str], stop: threading.Event, sent: list[str]
) -> None:
    from hrms.celery import app

    n = 0
    with tenant_context(handle.tenant):
        while not stop.is_set():
            salary = f"{9000 + n}.00"
            app.send_task(EMPLOYEES_TOUCH, args=[report_key, update_ids[n % len(update_ids)], salary])
            sent.append(salary)
            n += 1
            time.sleep(0.25)
    connection.close()


def _reports(report_key: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in get_redis_connection("default").lrange(report_key, 0, -1)]


def _watcher(handle: TenantHandle, stop: threading.Event, seen: dict[str, tuple[float, str, str]]) -> None:
    """Note the data key of each new row as first written (re-encryption rewrites it later)."""
    query = (
        f"SELECT id::text, email, national_id, extract(epoch FROM created_at) "
        f"FROM {handle.tenant.schema_name}.timesheets_employee WHERE created_at > now() - interval '3 seconds'"
    )
    while not stop.is_set():
        with connection.cursor() as cursor:
            cursor.execute(query)
            for employee_id, email, national_id, created in cursor.fetchall():
                if employee_id not in seen:
                    seen[employee_id] = (float(created), email, ciphertext_key_id(national_id))
        time.sleep(0.1)
    connection.close()


def test_a_rotation_with_retire_under_live_traffic_answers_no_500_and_loses_nothing(
    rotor: TenantHandle, tmp_path: Path
) -> None:
    seeded = _seed(rotor)
    emails = [e.email for e in seeded]
    web_patched = [str(e.id) for e in seeded[: SEEDED // 2]]
    worker_updated = [str(e.id) for e in seeded[SEEDED // 2 :]]
    token = token_for(rotor, make_user(rotor, f"hr@{SLUG}.test", "HR"))
    report_key = f"rotation-test:{uuid.uuid4().hex}"
    traffic, sent, seen = Traffic(), list[str](), dict[str, tuple[float, str, str]]()
    stop = threading.Event()
    with (
        gunicorn_server(tmp_path / "web.log") as (web, port),
        celery_worker(tmp_path / "worker.log", module="tests.support.rotation_worker") as worker,
    ):
        threads = [
            threading.Thread(target=_reader, args=(port, rotor, token, emails, stop, traffic)),
            threading.Thread(target=_writer, args=(port, rotor, token, web_patched, stop, traffic)),
            threading.Thread(target=_sender, args=(rotor, report_key, worker_updated, stop, sent)),
            threading.Thread(target=_watcher, args=(rotor, stop, seen)),
        ]
        for thread in threads:
            thread.start()
        try:
            # Both processes have read, written and cached the tenant's key k1 before the rotation starts.
            wait_until(lambda: len(_reports(report_key)) >= 3, timeout=60, what="the worker's first tasks")
            rotation = subprocess.run(
                [sys.executable, "manage.py", "rotate_encryption_keys", f"--tenant={SLUG}", "--new-data-keys",
                 "--reencrypt", "--retire"],
                cwd=ROOT, env=app_env(), capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            rotated_at = time.time()
            time.sleep(4)  # traffic goes on after the old key is gone
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        wait_until(lambda: len(_reports(report_key)) >= len(sent), timeout=90, what="the worker to drain its queue")
        web_log, worker_log = web.output(), worker.output()

    assert rotation.returncode == 0, rotation.stdout + rotation.stderr
    assert "new primary data key k2" in rotation.stdout
    assert "retired data keys k1" in rotation.stdout, rotation.stdout + rotation.stderr
    k2 = TenantDataKey.objects.get(tenant=rotor.tenant)
    assert k2.key_id == "k2"

    failures = [(kind, status) for _, kind, status in traffic.statuses if status != 200 and status != 201]
    assert failures == [], (failures[:10], web_log[-3000:])
    assert traffic.errors == [], traffic.errors[:5]
    assert traffic.misses == [], traffic.misses[:5]
    reports = _reports(report_key)
    broken = [r for r in reports if not r["ok"]]
    assert broken == [], (broken[:3], worker_log[-3000:])
    assert any(at > rotated_at and status in (200, 201) for at, _, status in traffic.statuses)

    # Nothing unreadable, nothing lost: every row decrypts in a process that never saw k1 ...
    ttl_caches_forget()
    with tenant_context(rotor.tenant):
        everyone = {str(e.id): e for e in Employee.objects.all()}
        created = [c[1] for c in traffic.created] + [r["created"] for r in reports]
        assert set(created) | {str(e.id) for e in seeded} == set(everyone)
        for employee in everyone.values():
            assert None not in (employee.national_id, employee.bank_account, employee.salary), employee.name
        last_salary = {**traffic.salaries, **{r["updated"]: r["salary"] for r in reports}}
        assert {i: str(everyone[i].salary) for i in last_salary} == last_salary
    # ... and every e-mail, old or new, is still found through the API.
    client = rotor.client()
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Token {token}"}
    for email in [*emails, *(c[2] for c in traffic.created[:20]), *(r["email"] for r in reports[:20])]:
        response = client.get("/api/employees", {"email": email}, **auth)
        assert [row["email"] for row in response.json()["results"]] == [email]

    # How long each process went on encrypting under k1 after k2 was issued, from the rows as first written.
    issued = k2.created_at.timestamp()
    lags = {
        who: max(
            (at - issued for at, email, key in seen.values() if email.startswith(who) and key == "k1" and at > issued),
            default=0.0,
        )
        for who in ("web-", "worker-")
    }
    firsts = {
        who: min(
            (at - issued for at, email, key in seen.values() if email.startswith(who) and key == "k2"), default=-1.0
        )
        for who in ("web-", "worker-")
    }
    assert all(lag < 3 for lag in lags.values()), lags
    print(
        f"\nk2 issued; rotation command ended {rotated_at - issued:.1f}s later. Last write under k1 after k2 was "
        f"issued: web {lags['web-']:.2f}s, worker {lags['worker-']:.2f}s; first under k2: web {firsts['web-']:.2f}s, "
        f"worker {firsts['worker-']:.2f}s. {len(traffic.statuses)} HTTP requests, {len(reports)} worker tasks."
    )
