"""The Content-Security-Policy in a real browser: every main page, htmx swaps and the Swagger page, no violation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle
from tests.ui.conftest import LiveSite, log_in
from tests.ui.seed import review_week, user_with_role
from timesheets.models import Employee

pytestmark = pytest.mark.slow

# Installed before any page script runs (through the DevTools protocol, so the policy does not apply to it).
_RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__csp.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${where}`);
});
"""
PAGES = ("/", "/suggestions", "/timesheets", "/my-week", "/employees", "/projects", "/generate", "/model", "/audit")


def _directives(header: str) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip() for part in header.split(";") if part.strip()}


def test_every_page_sends_the_policy_and_the_browser_reports_no_violation(
    site: TenantHandle, live_site: LiveSite, page: Any, context: Any
) -> None:
    review_week(site)
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    with tenant_context(site.tenant):
        Employee.objects.filter(name="Ada Lovelace").update(user=hr)
    context.add_init_script(_RECORD_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    log_in(page, live_site, site, hr.username)

    response = page.goto(live_site.url(site, "/suggestions"))
    policy = _directives(response.headers["content-security-policy"])
    assert policy["script-src"] == "script-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert "'unsafe-inline'" not in policy.get("default-src", "")

    violations: dict[str, list[str]] = {}
    for path in PAGES:
        page.goto(live_site.url(site, path))
        page.wait_for_load_state("networkidle")
        violations[path] = page.evaluate("window.__csp")

    # htmx at work under the policy: the suggestion filter swaps the list in place, the audit check its result.
    page.goto(live_site.url(site, "/suggestions"))
    page.evaluate("window.__same_page = true")
    page.locator("#id_confidence_below").fill("60")
    page.locator("#filter-form").evaluate("form => form.requestSubmit()")
    page.wait_for_url("**confidence_below=60**")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__same_page") is True  # swapped by htmx, not reloaded
    violations["/suggestions (htmx filter)"] = page.evaluate("window.__csp")
    page.goto(live_site.url(site, "/audit"))
    page.locator("#verify-button").click()
    # A selector, not wait_for_function: Playwright evaluates a predicate's text with eval, which the policy refuses.
    page.locator("#verify-result:not(:empty)").wait_for()
    page.wait_for_load_state("networkidle")
    violations["/audit (htmx verify)"] = page.evaluate("window.__csp")

    # The API's Swagger page: its assets are served locally and its start-up script is a file, not inline.
    page.goto(live_site.url(site, "/api/docs/"))
    page.locator(".opblock").first.wait_for()
    violations["/api/docs/"] = page.evaluate("window.__csp")

    assert {path: found for path, found in violations.items() if found} == {}
    assert [text for text in console if "Content Security Policy" in text] == []
