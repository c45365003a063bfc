"""The people picker: typing offers matches with their e-mail (namesakes told apart), and a bare shared name asks
to pick one; it replaces the select of every name on the review, the grid and the attention pages."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import TenantHandle
from tests.timesheets.factories import make_employee
from tests.ui.conftest import PHONE, LiveSite, log_in
from tests.ui.seed import review_week, user_with_role

pytestmark = pytest.mark.slow


def test_namesakes_are_told_apart_by_email_and_a_shared_name_alone_is_refused(
    site: TenantHandle, live_site: LiveSite, page: Any
) -> None:
    review_week(site, names=("Ada Lovelace",))
    first = make_employee(site, name="Alan Fischer", email="alan.fischer@acme.example")
    make_employee(site, name="Alan Fischer", email="a.fischer@acme.example")
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    page.set_viewport_size(PHONE)
    log_in(page, live_site, site, hr.username)
    page.goto(live_site.url(site, "/timesheets"))
    assert page.locator("select#id_employee").count() == 0  # no select of every name
    box = page.get_by_role("combobox", name="Employee")
    box.fill("fisch")
    expect(page.locator("#employee-options option")).to_have_count(2)
    offered = page.locator("#employee-options option").evaluate_all("os => os.map(o => o.value)")
    assert sorted(offered) == ["Alan Fischer <a.fischer@acme.example>", "Alan Fischer <alan.fischer@acme.example>"]

    box.fill("Alan Fischer <alan.fischer@acme.example>")
    page.get_by_role("button", name="Show week").click()
    assert "Alan Fischer" in page.locator(".lede").inner_text()
    assert str(first.id) in page.locator("#csv-export").get_attribute("href")  # the one Alan Fischer chosen
    assert page.get_by_role("combobox", name="Employee").input_value() == "Alan Fischer <alan.fischer@acme.example>"

    page.get_by_role("combobox", name="Employee").fill("Alan Fischer")
    page.get_by_role("button", name="Show week").click()
    assert "More than one employee is called" in page.locator(".messages").inner_text()
