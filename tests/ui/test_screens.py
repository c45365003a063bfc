"""Screens from demo data: full-page screenshots for the README, and every main page fits a phone's width."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db.models import Count
from django_tenants.utils import tenant_context

from demo.services import demo_seed
from demo.world import DemoSpec
from intelligence.generation import JOB_TYPE, timesheets_generate
from jobs.models import JobStatus
from jobs.services import job_create
from tests.conftest import TenantHandle
from tests.ui.conftest import LAPTOP, PHONE, LiveSite, log_in
from tests.ui.seed import user_with_role
from timesheets.models import Employee, ProjectAllocationSuggestion, SuggestionStatus, TimesheetProjectAllocation
from timesheets.selectors import tenant_today

pytestmark = pytest.mark.slow

_WIDER_THAN_VIEWPORT = """() => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth && !el.closest('.table-wrap'))
    .slice(0, 5).map(el => el.tagName + '.' + el.className)"""
# The README's screenshots are refreshed only when asked (UPDATE_SCREENSHOTS=1); otherwise they go to tmp.
README_SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"


def _demo(handle: TenantHandle) -> tuple[Employee, str]:
    """Six weeks of demo history for 14 people, then a generation of the last eight days with auto-accept."""
    with tenant_context(handle.tenant):
        today = tenant_today()
        spec = DemoSpec(
            schema=handle.tenant.schema_name,
            email_domain=f"{handle.tenant.slug}.example",
            zone=ZoneInfo(handle.tenant.timezone or "UTC"),
            employees=14,
            days=42,
            end_date=today,
        )
        demo_seed(spec=spec, reset=True)
        last_monday = today - timedelta(days=today.weekday() + 7)
        job = job_create(
            job_type=JOB_TYPE,
            parameters={
                "start_date": last_monday.isoformat(),
                "end_date": today.isoformat(),
                "generate_suggestions": True,
                "auto_accept_high_confidence": True,
            },
        )
        finished = timesheets_generate(job_id=job.id)
        assert finished is not None
        assert finished.status == JobStatus.SUCCEEDED, finished.error
        assert ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.PENDING).exists()
        # The person with the most auto-accepted hours that week: a grid with allocations and with gaps.
        busiest = (
            TimesheetProjectAllocation.objects.filter(date__gte=last_monday, date__lt=last_monday + timedelta(days=7))
            .values("employee_id")
            .annotate(rows=Count("id"))
            .order_by("-rows", "employee_id")
            .first()
        )
        assert busiest is not None
        employee = Employee.objects.get(id=busiest["employee_id"])
        year, week, _ = last_monday.isocalendar()
        return employee, f"{year}-W{week:02d}"


def test_the_dashboard_review_and_grid_render_from_demo_data_and_fit_a_phone(
    site: TenantHandle, live_site: LiveSite, page: Any, tmp_path: Path
) -> None:
    screenshots = README_SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    employee, week = _demo(site)
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    log_in(page, live_site, site, hr.username)
    screens = {
        "dashboard": "/",
        "review": "/suggestions",
        "grid": f"/timesheets?employee={employee.id}&week={week}",
    }
    screenshots.mkdir(parents=True, exist_ok=True)
    for name, path in screens.items():
        page.set_viewport_size(LAPTOP)
        page.goto(live_site.url(site, path))
        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
        assert (screenshots / f"{name}.png").stat().st_size > 10_000
    page.goto(live_site.url(site, "/"))
    assert int(page.locator("#pending-count").inner_text()) > 0
    assert page.locator("#hours-by-project li").count() > 0

    # On a phone the page never scrolls sideways: wide tables scroll inside their own region.
    page.set_viewport_size(PHONE)
    for name, path in screens.items():
        page.goto(live_site.url(site, path))
        page.screenshot(path=str(screenshots / f"{name}-phone.png"), full_page=False)
    phone_pages = ("/my-week", "/employees", "/projects", "/generate", "/jira", "/model", "/audit", "/attention")
    for path in (*screens.values(), *phone_pages):
        page.goto(live_site.url(site, path))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        wide = page.evaluate(_WIDER_THAN_VIEWPORT) if overflow > 0 else []
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone: {wide}"
    # A page of 50 audit events stays a page a thumb can get through (the full record is in the API).
    page.goto(live_site.url(site, "/audit"))
    assert page.evaluate("document.documentElement.scrollHeight") < 8000
