"""Compliance checked at attendance import: timesheets announces the committed rows, working time checks them."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import OperationalError, connection, connections, transaction
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from hrms.celery import app
from tests.conftest import TenantHandle, make_user, token_for
from tests.support.tasks import broker_purge
from tests.timesheets.factories import auth, make_employee, staff_token
from timesheets.models import Employee
from timesheets.signals import attendance_imported
from worktime.models import ComplianceRuleSet, ComplianceViolation
from worktime.services import compliance_check_imported

MONDAY = date(2026, 3, 2)


def _shift(employee: Employee, day: date, start: str, end: str, break_minutes: int) -> dict[str, Any]:
    return {
        "employee": str(employee.id),
        "check_in": f"{day.isoformat()}T{start}:00+00:00",
        "check_out": f"{day.isoformat()}T{end}:00+00:00",
        "break_minutes": break_minutes,
    }


def test_an_import_announces_its_employees_and_days_once_committed(
    alpha: TenantHandle, django_capture_on_commit_callbacks: Any
) -> None:
    token = staff_token(alpha)
    first, second = make_employee(alpha), make_employee(alpha)
    heard: list[dict[str, Any]] = []

    def listen(**kwargs: Any) -> None:
        heard.append(kwargs)

    attendance_imported.connect(listen, dispatch_uid="test-listen")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = alpha.client().post(
                "/api/attendance",
                [
                    _shift(first, MONDAY, "09:00", "17:00", 30),
                    _shift(second, MONDAY + timedelta(days=3), "09:00", "17:00", 30),
                ],
                content_type="application/json",
                **auth(token),
            )
            assert response.status_code == 200, response.json()
            assert heard == []  # nothing is announced before the commit
    finally:
        attendance_imported.disconnect(dispatch_uid="test-listen")
        broker_purge()  # the check the worktime receiver enqueued: no worker runs in this test

    (message,) = heard
    assert message["schema"] == alpha.tenant.schema_name
    assert message["employee_ids"] == sorted([str(first.id), str(second.id)])
    assert (message["date_from"], message["date_to"]) == (MONDAY, MONDAY + timedelta(days=3))


def test_the_import_check_touches_only_the_imported_employees_and_reaches_the_days_they_affect(
    alpha: TenantHandle,
) -> None:
    token = staff_token(alpha)
    with tenant_context(alpha.tenant):
        ComplianceRuleSet.objects.update_or_create(pk=1, defaults={"preset": "eu_wtd", "thresholds": {}})
    imported, bystander = make_employee(alpha), make_employee(alpha)
    tuesday = MONDAY + timedelta(days=1)
    # Tuesday's shift was there before; Monday's late evening arrives in a later import: 10.5 h of rest.
    response = alpha.client().post(
        "/api/attendance",
        [
            _shift(imported, tuesday, "05:00", "11:00", 0),
            _shift(imported, MONDAY, "10:00", "18:30", 30),
            _shift(bystander, MONDAY, "10:00", "18:30", 30),
            _shift(bystander, tuesday, "05:00", "11:00", 0),
        ],
        content_type="application/json",
        **auth(token),
    )
    assert response.status_code == 200, response.json()

    with tenant_context(alpha.tenant):
        run = compliance_check_imported(actor=None, employee_ids=[str(imported.id)], date_from=MONDAY, date_to=MONDAY)
        found = set(ComplianceViolation.objects.values_list("employee_id", "date", "rule"))
        again = compliance_check_imported(actor=None, employee_ids=[str(imported.id)], date_from=MONDAY, date_to=MONDAY)
        event = AuditEvent.objects.filter(action="compliance.check").latest("sequence")

    # The rest rule dates the violation on Tuesday, a day after the imported one; the bystander is untouched.
    assert found == {(imported.id, tuesday, "daily_rest")}
    assert (run.violations, again.violations) == (1, 1)
    assert event.data["trigger"] == "attendance_import"
    assert event.data["employees"] == 1


def _purge(handle: TenantHandle) -> None:
    with tenant_context(handle.tenant), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE worktime_complianceviolation, worktime_complianceruleset, timesheets_attendancerecord,"
            " timesheets_employee, authtoken_token CASCADE"
        )


@pytest.mark.slow
def test_a_real_worker_checks_an_attendance_import_through_the_api(
    tenants: dict[str, TenantHandle], django_db_blocker: Any
) -> None:
    handle = tenants["alpha"]
    with django_db_blocker.unblock():
        try:
            with tenant_context(handle.tenant):
                ComplianceRuleSet.objects.update_or_create(pk=1, defaults={"preset": "de_arbzg", "thresholds": {}})
            # Committed rows outlive the test: a name no other test will take.
            token = token_for(handle, make_user(handle, f"hr-{uuid.uuid4().hex[:8]}@{handle.tenant.slug}.test", "HR"))
            long_day, nine_hours = make_employee(handle), make_employee(handle)
            broker_purge()
            with start_worker(app, perform_ping_check=False, pool="solo", queues=["celery"], loglevel="WARNING"):
                response = handle.client().post(
                    "/api/attendance",
                    [
                        # 9 h 15 min of work with a 30 min break: over nine hours needs 45 min (ArbZG §4).
                        _shift(long_day, MONDAY, "08:00", "17:45", 30),
                        # Exactly 9 h with 30 min: allowed.
                        _shift(nine_hours, MONDAY, "08:00", "17:30", 30),
                    ],
                    content_type="application/json",
                    **auth(token),
                )
                assert response.status_code == 200, response.json()
                deadline = time.monotonic() + 60
                found: list[tuple[Any, ...]] = []
                while time.monotonic() < deadline:
                    with tenant_context(handle.tenant):
                        found = list(ComplianceViolation.objects.values_list("employee_id", "date", "rule", "limit"))
                    if found:
                        break
                    time.sleep(0.2)
            assert found == [(long_day.id, MONDAY, "break", Decimal("45.00"))]
            with tenant_context(handle.tenant):
                assert AuditEvent.objects.filter(
                    action="compliance.check", data__trigger="attendance_import", data__violations=1
                ).exists()
        finally:
            _purge(handle)
            connections.close_all()


def test_checks_of_one_tenant_wait_for_each_other(tenants: dict[str, TenantHandle], django_db_blocker: Any) -> None:
    """A check holds the rules row until it commits: a second one (an import's beside the nightly) waits."""
    handle = tenants["alpha"]
    holding, release = threading.Event(), threading.Event()

    def first_check() -> None:
        with django_db_blocker.unblock():
            try:
                with tenant_context(handle.tenant), transaction.atomic():
                    compliance_check_imported(actor=None, employee_ids=[], date_from=MONDAY, date_to=MONDAY)
                    holding.set()
                    release.wait(10)
            finally:
                connections.close_all()

    with django_db_blocker.unblock():
        thread = threading.Thread(target=first_check)
        thread.start()
        try:
            assert holding.wait(10)
            with tenant_context(handle.tenant), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '300ms'")
                with pytest.raises(OperationalError):
                    compliance_check_imported(actor=None, employee_ids=[], date_from=MONDAY, date_to=MONDAY)
        finally:
            release.set()
            thread.join(10)
            with tenant_context(handle.tenant):
                ComplianceRuleSet.objects.filter(pk=1).delete()
            connections.close_all()
