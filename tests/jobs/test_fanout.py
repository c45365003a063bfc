"""Beat fan-outs over tenants: a tenant whose call fails is logged and counted, and every other tenant still runs."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.schema import current_schema
from jobs.fanout import tenants_fan_out
from jobs.models import BackgroundJob, JobStatus
from jobs.tasks import REAP_TASK, jobs_reap_stalled_task
from tenants.services import tenant_create
from tests.conftest import TenantHandle
from tests.ops.conftest import sample_value, scrape

FAILURES = ("hrms_fanout_failures", "hrms_fanout_failures_total")


def _failures(task: str) -> float:
    family, name = FAILURES
    return sample_value(scrape().get(family, []), name, task=task)


def test_a_tenant_whose_call_raises_is_logged_and_counted_and_the_others_still_run(
    alpha: TenantHandle, beta: TenantHandle, caplog: pytest.LogCaptureFixture
) -> None:
    broken = alpha.tenant.schema_name
    before = _failures("probe.fan_out")

    def visit() -> str:
        if current_schema() == broken:
            raise RuntimeError("this tenant's call fails")
        return current_schema()

    with caplog.at_level(logging.ERROR, logger="jobs.fanout"):
        outcome = tenants_fan_out("probe.fan_out", visit, tenants=[alpha.tenant, beta.tenant], public=True)

    assert outcome.failed == [broken]
    assert outcome.results == {"public": "public", beta.tenant.schema_name: beta.tenant.schema_name}
    assert _failures("probe.fan_out") - before == 1
    [record] = [r for r in caplog.records if r.name == "jobs.fanout"]
    assert broken in record.getMessage()
    assert "probe.fan_out" in record.getMessage()
    assert record.exc_info is not None
    assert "this tenant's call fails" in str(record.exc_info[1])


def test_the_reaper_still_reaps_every_other_tenant_when_one_tenant_schema_is_broken(
    alpha: TenantHandle, beta: TenantHandle
) -> None:
    # A tenant that sorts first, whose jobs table is gone: its reap fails for real (rolled back after the test).
    broken = tenant_create(slug="aardvark", name="Aardvark", domain="aardvark.localhost", admin_email="a@aardvark.test")
    with tenant_context(broken.tenant), connection.cursor() as cursor:
        cursor.execute("DROP TABLE jobs_backgroundjob")
    stalled = {}
    for handle in (alpha, beta):
        with tenant_context(handle.tenant):
            long_ago = timezone.now() - timedelta(hours=2)
            stalled[handle.tenant.schema_name] = BackgroundJob.objects.create(
                job_type="reap_probe", status=JobStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago
            ).id
    before = _failures(REAP_TASK)

    assert jobs_reap_stalled_task() >= 2

    assert _failures(REAP_TASK) - before == 1
    for handle in (alpha, beta):
        with tenant_context(handle.tenant):
            job = BackgroundJob.objects.get(id=stalled[handle.tenant.schema_name])
            assert job.status == JobStatus.FAILED
            assert "No heartbeat" in job.error
