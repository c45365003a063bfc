"""The leave calendar, the compliance page, a report with its chart and export, and the working-time panels of
the timesheet grid, in a real browser."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle
from tests.timesheets.factories import make_allocation, make_attendance, make_employee, make_project
from tests.ui.conftest import PHONE, LiveSite, log_in
from tests.ui.seed import user_with_role
from worktime.models import ComplianceRuleSet
from worktime.services import compliance_check

pytestmark = pytest.mark.slow

_OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# Elements of the working-time panels that reach past the window's right edge, outside a scrolling table.
_PANELS_OVERFLOW = (
    "[...document.querySelectorAll('#worktime-violations *, #flexitime *')]"
    ".filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > window.innerWidth)"
    ".map(e => e.tagName + '.' + e.className)"
)


def test_hr_records_leave_by_keyboard_and_sees_it_in_the_month_calendar(
    site: TenantHandle, live_site: LiveSite, page: Any
) -> None:
    make_employee(site, name="Grace Keyboard")
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    log_in(page, live_site, site, hr.username)
    page.goto(live_site.url(site, "/leave?month=2026-03"))

    page.get_by_role("combobox", name="Employee").fill("Grace Keyboard")  # the people picker: a unique name will do
    page.get_by_label("Leave type").select_option("vacation")
    page.get_by_label("From").fill("2026-03-10")
    page.get_by_label("To").fill("2026-03-12")
    page.get_by_label("Note").focus()
    page.keyboard.type("Family visit")
    page.keyboard.press("Enter")
    page.wait_for_url("**/leave")

    assert "Leave recorded." in page.locator(".messages").inner_text()
    page.goto(live_site.url(site, "/leave?month=2026-03"))
    row = page.locator("#leave-calendar tr", has_text="Grace Keyboard")
    assert row.locator("td", has_text="VAC").count() == 3

    page.set_viewport_size(PHONE)
    for path in ("/leave?month=2026-03", "/compliance", "/reports"):
        page.goto(live_site.url(site, path))
        assert page.evaluate(_OVERFLOW) <= 0, path


def test_a_compliance_check_and_a_report_with_its_chart_and_csv_export(
    site: TenantHandle, live_site: LiveSite, page: Any
) -> None:
    person = make_employee(site, name="Otto Overtime")
    project = make_project(site)
    monday = date(2026, 3, 2)
    for offset in range(3):
        make_attendance(site, person, day=monday + timedelta(days=offset), hours=11)
        make_allocation(site, person, project, day=monday + timedelta(days=offset), hours="8.00")
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    log_in(page, live_site, site, hr.username)

    page.goto(live_site.url(site, "/compliance"))
    page.locator("#id_check-preset").select_option("de_arbzg")
    page.locator("#id_check-date_from").fill("2026-03-01")
    page.locator("#id_check-date_to").fill("2026-03-08")
    page.get_by_role("button", name="Run the check").click()
    page.wait_for_url("**/compliance")
    assert page.locator("#violations tr", has_text="Otto Overtime").count() >= 3

    page.goto(live_site.url(site, "/reports"))
    page.locator("#id_report").select_option("hours")
    page.locator("#id_date_from").fill("2026-03-01")
    page.locator("#id_date_to").fill("2026-03-31")
    page.get_by_role("button", name="Show").click()
    assert page.locator("#report-chart rect.bar").count() == 1
    assert "24.00" in page.locator("#report-table").inner_text()
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    with open(download.value.path(), encoding="utf-8") as exported:
        rows = list(csv.reader(io.StringIO(exported.read())))
    assert rows[0] == ["key", "project", "hours", "billable_hours", "non_billable_hours"]
    assert rows[1][2] == "24.00"


def test_hr_acknowledges_a_violation_on_the_timesheet_grid_by_keyboard_on_a_phone(
    site: TenantHandle, live_site: LiveSite, page: Any
) -> None:
    person = make_employee(site, name="Petra Panel")
    monday = date(2026, 3, 2)
    make_attendance(site, person, day=monday, hours=11)
    with tenant_context(site.tenant):
        ComplianceRuleSet.objects.update_or_create(pk=1, defaults={"preset": "de_arbzg", "thresholds": {}})
        compliance_check(actor=None, date_from=monday, date_to=monday)
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    log_in(page, live_site, site, hr.username)
    page.set_viewport_size(PHONE)
    grid = live_site.url(site, f"/timesheets?employee={person.id}&week=2026-W10")
    page.goto(grid)

    panel = page.locator("#worktime-violations")
    assert panel.locator("tr.violation").count() == 2
    assert page.locator("#flex-overtime").inner_text() == "-29.00 h"  # 11 worked against 40 expected
    assert page.evaluate(_PANELS_OVERFLOW) == []
    panel.locator('tr[data-rule="daily_max"] input[name="comment"]').focus()
    page.keyboard.type("Release night, agreed with the team lead")
    with page.expect_navigation():  # the form posts, then the server sends the browser back to the same grid
        page.keyboard.press("Enter")

    assert "Violation acknowledged." in page.locator(".messages").inner_text()
    acknowledged = page.locator('#worktime-violations tr[data-rule="daily_max"] .ack')
    assert acknowledged.inner_text() == "Release night, agreed with the team lead"


def test_hr_adds_a_contract_by_keyboard_on_a_phone_and_a_start_before_the_employee_is_shown_at_its_field(
    site: TenantHandle, live_site: LiveSite, page: Any
) -> None:
    make_employee(site, name="Kim Contract", start_date=date(2026, 4, 1))
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    log_in(page, live_site, site, hr.username)
    page.set_viewport_size(PHONE)
    page.goto(live_site.url(site, "/contracts"))
    assert page.evaluate(_OVERFLOW) <= 0

    page.get_by_role("combobox", name="Employee").fill("Kim Contract")
    page.get_by_label("Starts on").fill("2026-03-31")
    page.get_by_label("Weekly hours").fill("30.0")
    page.get_by_label("Fri").uncheck()  # four work days, Monday to Thursday
    page.get_by_label("Subdivision").focus()
    page.keyboard.press("Enter")

    starts_on = page.locator(".field.has-error", has=page.get_by_label("Starts on"))
    starts_on.wait_for()  # the form comes back with the refusal beside the field
    assert "Must be on or after the employee's start date, 2026-04-01." in starts_on.inner_text()
    assert page.evaluate(_OVERFLOW) <= 0
    page.get_by_label("Starts on").fill("2026-04-01")
    page.get_by_label("Starts on").press("Enter")
    page.wait_for_url("**/contracts?employee=*")

    assert "Contract of Kim Contract from 01 Apr 2026 added." in page.locator(".messages").inner_text()
    row = page.locator("#contracts tbody tr", has_text="Kim Contract")
    assert "Mon Tue Wed Thu" in row.inner_text()
    assert "Fri" not in row.inner_text()
    assert page.evaluate(_OVERFLOW) <= 0
