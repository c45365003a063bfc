"""Browser fixtures: a live server on 127.0.0.1 serving every tenant host, Debian's Chromium through Playwright,
and a committed demo tenant (`acme.localhost`) that each test fills and empties again.

The server runs in this process on a free port, so it uses the test database; Chromium maps every
`*.localhost` host to 127.0.0.1, so `http://acme.localhost:<port>/` reaches it as the tenant's own host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connection, connections
from django.test.testcases import LiveServerThread
from django_tenants.utils import tenant_context

from tenants.cache import tenant_cache_invalidate
from tests.conftest import PASSWORD, TenantHandle, _ensure_tenant

# Playwright's sync API keeps an event loop on the test's thread; the ORM calls the tests make between browser
# steps are ordinary blocking calls, which Django would otherwise refuse next to a running loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP *.localhost 127.0.0.1",
]
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Everything a UI test writes into a tenant, emptied after each test (audit events are append-only and stay).
_TABLES = (
    "timesheets_projectallocationsuggestion",
    "timesheets_timesheetprojectallocation",
    "timesheets_unallocatedday",
    "jira_sync_jiraworklog",
    "jira_sync_jiraissueassignment",
    "jira_sync_jirasynccursor",
    "jira_sync_jiraconnection",
    "timesheets_workpattern",
    "timesheets_attendancerecord",
    "jobs_backgroundjob",
    "timesheets_employee",
    "timesheets_project",
    # A closed pay period locks its days for every later test: periods, weeks and the policy go too.
    "timesheets_payperiod",
    "timesheets_payperiodpolicy",
    "timesheets_timesheetweek",
    "timesheets_daynote",
    # Second-factor devices of the logins the tests made.
    "otp_totp_totpdevice",
    "otp_static_staticdevice",
    # A single sign-on provider would put its button (and its checks) on every later test's login page.
    "accounts_ssoprovider",
)


@dataclass(frozen=True)
class LiveSite:
    port: int

    def url(self, handle: TenantHandle, path: str = "/") -> str:
        return f"http://{handle.host}:{self.port}{path}"


@pytest.fixture(scope="session")
def live_site(django_db_setup: None) -> Iterator[LiveSite]:
    server = LiveServerThread("127.0.0.1", StaticFilesHandler)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    yield LiveSite(port=server.port)
    server.terminate()


@pytest.fixture(scope="session")
def acme(tenants: dict[str, TenantHandle], django_db_blocker: Any) -> TenantHandle:
    with django_db_blocker.unblock():
        return _ensure_tenant("acme")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if shutil.which("make"):
            subprocess.run(["make", "chromium"], check=False)
        if not os.path.exists(CHROMIUM):
            pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def committed(django_db_blocker: Any) -> Iterator[None]:
    """The server, the worker and the test share committed data: no transaction wraps a browser test."""
    with django_db_blocker.unblock():
        yield
        connections.close_all()


def purge(handle: TenantHandle) -> None:
    with tenant_context(handle.tenant):
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(_TABLES)} CASCADE")
        tenant_cache_invalidate()


@pytest.fixture
def site(acme: TenantHandle, committed: None) -> Iterator[TenantHandle]:
    """The acme tenant, empty at the start and at the end of the test."""
    purge(acme)
    yield acme
    purge(acme)


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def log_in(page: Any, live_site: LiveSite, handle: TenantHandle, username: str, password: str = PASSWORD) -> None:
    page.goto(live_site.url(handle, "/login"))
    page.get_by_label("Username (e-mail)").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_site.url(handle, "/"))
