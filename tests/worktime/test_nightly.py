"""The nightly compliance task: every tenant's last two weeks are checked, through the beat task itself."""

from __future__ import annotations

from datetime import timedelta

from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle
from tests.timesheets.factories import make_attendance, make_employee
from timesheets.selectors import tenant_today
from worktime.models import ComplianceRuleSet, ComplianceViolation
from worktime.tasks import compliance_check_nightly_task


def test_the_nightly_task_finds_a_recent_violation_in_each_tenant(alpha: TenantHandle, beta: TenantHandle) -> None:
    people = {}
    for handle in (alpha, beta):
        with tenant_context(handle.tenant):
            ComplianceRuleSet.objects.update_or_create(pk=1, defaults={"preset": "de_arbzg", "thresholds": {}})
            yesterday = tenant_today() - timedelta(days=1)
        person = make_employee(handle)
        make_attendance(handle, person, day=yesterday, hours=11)  # over ten hours, no break
        people[handle.tenant.slug] = person

    found = compliance_check_nightly_task.apply().get()

    assert found >= 4  # two rules broken in each of the two tenants
    for handle in (alpha, beta):
        with tenant_context(handle.tenant):
            rules = set(
                ComplianceViolation.objects.filter(employee=people[handle.tenant.slug]).values_list("rule", flat=True)
            )
        assert rules == {"daily_max", "break"}
