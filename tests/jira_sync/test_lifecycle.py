"""The Jira sync and the timesheet lifecycle: a closed period's logs are stored and flagged, and a corrected or
removed allocation has its written-back work log updated or deleted, exactly once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from jira_sync import client as client_module
from jira_sync.client import WRITEBACK_PROPERTY
from jira_sync.models import JiraWorklogWriteback
from jira_sync.selectors import worklog_list
from jobs.models import JobStatus
from tests.conftest import TenantHandle
from tests.jira_sync.test_writeback import _allocate, _sync, _world
from tests.support.jira_standin import (
    JiraStandin,
    jira_standin_fixture,  # noqa: F401 - provides the `jira_standin` fixture
)
from timesheets.models import TimesheetProjectAllocation
from timesheets.services.periods import pay_period_close
from timesheets.services.weeks import DaySplitRow, day_split_save

DAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_SECONDS", 0.01)


def test_a_work_log_for_a_closed_period_is_stored_and_flagged_and_the_allocations_stay(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    with tenant_context(alpha.tenant):
        ann, project = _world(jira_standin, logged_seconds=7200)
        allocation = _allocate(ann, project, "6.00")
        with transaction.atomic():
            pay_period_close(actor=None, day=DAY, override=True, override_reason="payroll")
        jira_standin.add_worklog(
            issue_key="ALPHA-1", author="acct-ann", started="2026-03-03T10:00:00.000+0000", seconds=3600
        )
        jira_standin.advance(61)
        job = _sync()
        assert job.status == JobStatus.SUCCEEDED, job.error
        logs = {log.work_date: log for log in worklog_list(employee_id=ann.id)}
        assert set(logs) == {date(2026, 3, 2), date(2026, 3, 3)}
        assert all(log.in_closed_period for log in logs.values())  # type: ignore[attr-defined]
        assert list(TimesheetProjectAllocation.objects.values_list("id", "hours")) == [(allocation.id, Decimal("6.00"))]


def test_correcting_and_removing_an_allocation_updates_then_deletes_its_work_log_once(
    alpha: TenantHandle, jira_standin: JiraStandin
) -> None:
    with tenant_context(alpha.tenant):
        ann, project = _world(jira_standin, logged_seconds=0)
        _allocate(ann, project, "5.00")
        assert _sync().result["writeback_created"] == 1

        def save(rows: list[DaySplitRow]) -> None:
            with transaction.atomic():
                day_split_save(actor=None, employee=ann, day=DAY, rows=rows, note=None)
            jira_standin.advance(61)

        def written() -> list[Any]:
            return [log for log in jira_standin.worklogs_on("ALPHA-1") if WRITEBACK_PROPERTY in log.properties]

        save([DaySplitRow(project_id=project.id, hours=Decimal(6))])  # corrected: 6 h
        job = _sync()
        assert (job.result["writeback_updated"], job.result["writeback_deleted"]) == (1, 0)
        assert [log.seconds for log in written()] == [6 * 3600]
        again = _sync()
        assert (again.result["writeback_updated"], again.result["writeback_unchanged"]) == (0, 1)

        save([])  # removed
        removed = _sync()
        assert (removed.result["writeback_deleted"], removed.result["writeback_updated"]) == (1, 0)
        assert written() == []
        assert not JiraWorklogWriteback.objects.exists()
        assert _sync().result["writeback_deleted"] == 0
