"""axe-core on every page of the tenant UI, on a laptop and on a phone: no violation of serious or critical impact.

axe-core comes from the npm registry (`make axe`, pinned in tests/ui/axe/package-lock.json) and is injected into
each page after it loads. The pages are found by walking the tenant URL configuration, so a page added later is
checked without anyone listing it here; pages that need an object id get one from the demo data.
"""

from __future__ import annotations

import base64
import http.client
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.oath import TOTP
from django_tenants.utils import tenant_context

from jobs.models import BackgroundJob
from tests.conftest import PASSWORD, TenantHandle
from tests.ui.conftest import LAPTOP, PHONE, LiveSite, log_in
from tests.ui.seed import user_with_role
from tests.ui.test_screens import _demo
from timesheets.models import Employee, Project

pytestmark = pytest.mark.slow

AXE = Path(settings.BASE_DIR) / "tests" / "ui" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Routes that are actions (POST only), downloads, fragments or the API, not pages a person reads. The single
# sign-on start and callback are redirects to and from the provider; tests/ui/test_sso_browser.py runs axe on the
# pages they can show (the login page with its button, the refusal page).
_NOT_PAGES = ("api/", "logout", "healthz", "readyz", "metrics", "static/", "sso/")
_NOT_PAGE_ENDINGS = ("/decide", "/progress", "/sync", "/export", ".csv", "/options", "/undo")
_RUN_AXE = """async () => {
    const result = await axe.run(document);
    return {
        passed: result.passes.length,
        violations: result.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))})),
    };
}"""


def _axe_source() -> str:
    if not AXE.exists():
        subprocess.run(["make", "axe"], check=False, cwd=settings.BASE_DIR)
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make axe` (npm ci in tests/ui/axe).")
    return AXE.read_text(encoding="utf-8")


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _page_paths(handle: TenantHandle) -> list[str]:
    """Every GET page of the tenant UI, with the demo data's ids where a route needs one."""
    with tenant_context(handle.tenant):
        ids = {
            "employee_id": str(Employee.objects.order_by("name").values_list("id", flat=True).first()),
            "project_id": str(Project.objects.order_by("code").values_list("id", flat=True).first()),
            "job_id": str(BackgroundJob.objects.order_by("-created_at").values_list("id", flat=True).first()),
        }
    paths: list[str] = []
    for route, pattern in _routes(get_resolver(settings.ROOT_URLCONF).url_patterns):
        if route.startswith(_NOT_PAGES) or route.endswith(_NOT_PAGE_ENDINGS):
            continue
        path = "/" + route
        for name, converter in pattern.pattern.converters.items():
            if name not in ids:
                break
            path = path.replace(f"<{_converter_name(converter)}:{name}>", ids[name])
        else:
            if "<" not in path:
                paths.append(path)
    return sorted(set(paths))


def _converter_name(converter: Any) -> str:
    return {"UUIDConverter": "uuid", "IntConverter": "int", "StringConverter": "str"}.get(
        type(converter).__name__, "str"
    )


def test_every_page_has_no_serious_accessibility_violation_on_a_laptop_or_a_phone(
    site: TenantHandle, live_site: LiveSite, browser: Any
) -> None:
    axe = _axe_source()
    _demo(site)
    admin = user_with_role(site, f"admin-{uuid.uuid4().hex[:6]}", "Admin")
    paths = _page_paths(site)
    assert {"/", "/suggestions", "/timesheets", "/my-week", "/employees"} <= set(paths), paths
    # axe is injected as a script, which the product's Content-Security-Policy rightly forbids.
    context = browser.new_context(viewport=LAPTOP, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    found: dict[str, list[Any]] = {}
    try:
        for viewport_name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            _check(page, live_site.url(site, "/login"), axe, found, f"{viewport_name} /login")
        log_in(page, live_site, site, admin.username)
        for viewport_name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            for path in paths:
                _check(page, live_site.url(site, path), axe, found, f"{viewport_name} {path}")
    finally:
        context.close()
    assert not found, found


def _status_of(url: str, cookies: list[Any]) -> int:
    """The status a GET of `url` gets with the browser's cookies, without following redirects."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    try:
        connection.request(
            "GET",
            parts.path + (f"?{parts.query}" if parts.query else ""),
            headers={"Host": parts.netloc, "Cookie": "; ".join(f"{c['name']}={c['value']}" for c in cookies)},
        )
        return connection.getresponse().status
    finally:
        connection.close()


def _check(page: Any, url: str, axe: str, found: dict[str, list[Any]], label: str) -> None:
    if _status_of(url, page.context.cookies()) == 405:
        return  # an action (POST only), not a page
    response = page.goto(url)
    assert response is not None
    assert response.status < 400, f"{label}: {response.status}"
    page.add_script_tag(content=axe)
    result = page.evaluate(_RUN_AXE)
    # axe ran its rules on this page (a page it could not check would pass vacuously).
    assert result["passed"] >= 10, f"{label}: axe checked only {result['passed']} rules"
    if result["violations"]:
        found[label] = result["violations"]


def test_the_two_step_pages_in_each_state_have_no_serious_accessibility_violation(
    site: TenantHandle, live_site: LiveSite, browser: Any
) -> None:
    """The walk above sees two-step sign-in off; here its set-up, the recovery codes, on, and the code page."""
    axe = _axe_source()
    user = user_with_role(site, f"axe-2fa-{uuid.uuid4().hex[:6]}", "Employee")
    context = browser.new_context(viewport=LAPTOP, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    found: dict[str, list[Any]] = {}
    both = (("laptop", LAPTOP), ("phone", PHONE))
    try:
        log_in(page, live_site, site, user.username)
        page.goto(live_site.url(site, "/account/two-step"))
        page.get_by_role("button", name="Set up two-step sign-in").click()
        page.wait_for_selector("#two-step-secret")
        for name, viewport in both:
            page.set_viewport_size(viewport)
            _check(page, live_site.url(site, "/account/two-step"), axe, found, f"{name} set-up")
        key = base64.b32decode(page.locator("#two-step-secret").inner_text().strip())
        generator = TOTP(key)
        generator.time = time.time() - 30
        page.get_by_role("textbox", name="Code").fill(f"{generator.token():06d}")
        page.get_by_role("button", name="Turn on").click()
        page.wait_for_selector(".recovery-codes")
        page.add_script_tag(content=axe)
        result = page.evaluate(_RUN_AXE)
        assert result["passed"] >= 10
        if result["violations"]:
            found["recovery codes"] = result["violations"]
        for name, viewport in both:
            page.set_viewport_size(viewport)
            _check(page, live_site.url(site, "/account/two-step"), axe, found, f"{name} on")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(live_site.url(site, "/login"))
        page.get_by_label("Username (e-mail)").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(live_site.url(site, "/login/code"))
        for name, viewport in both:
            page.set_viewport_size(viewport)
            _check(page, live_site.url(site, "/login/code"), axe, found, f"{name} /login/code")
    finally:
        context.close()
    assert not found, found
