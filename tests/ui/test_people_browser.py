"""People and access in a real browser: an invitation followed from the delivered e-mail, password reset,
user management by keyboard and at phone width. A real SMTP server on loopback and a real Celery worker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import User
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context

from hrms.celery import app
from tests.conftest import TenantHandle
from tests.support.smtp import SmtpServer
from tests.ui.conftest import PHONE, LiveSite, log_in
from tests.ui.seed import user_with_role

pytestmark = pytest.mark.slow
NEW_PASSWORD = "a-long-new-passphrase-42"


@pytest.fixture
def mail(site: TenantHandle) -> Iterator[SmtpServer]:
    """Loopback SMTP and a worker sending from the default queue; the tenant's logins made here are removed."""
    with (
        SmtpServer() as server,
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=server.port
        ),
        start_worker(app, perform_ping_check=False, pool="solo", queues=["celery"], loglevel="WARNING"),
    ):
        yield server
    with tenant_context(site.tenant):
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE accounts_invitation, notifications_outgoingemail CASCADE")
        User.objects.filter(username__endswith="@example.com").delete()


def _no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_hr_invites_by_keyboard_and_the_invited_person_joins_from_the_mail_at_phone_width(
    site: TenantHandle, live_site: LiveSite, page: Any, browser: Any, mail: SmtpServer
) -> None:
    hr = user_with_role(site, f"hr-{uuid.uuid4().hex[:6]}", "HR")
    log_in(page, live_site, site, hr.username)
    page.goto(live_site.url(site, "/users"))
    page.get_by_label("E-mail").focus()
    page.keyboard.type("joiner@example.com")
    page.keyboard.press("Tab")
    page.keyboard.press("End")  # the last role in the list: Employee
    page.get_by_label("E-mail").press("Enter")
    page.wait_for_url(live_site.url(site, "/users"))
    assert "Invitation sent to joiner@example.com" in page.locator(".messages").inner_text()
    assert page.get_by_role("region", name="Open invitations").get_by_text("joiner@example.com").is_visible()

    [message] = mail.wait_for(1, to="joiner@example.com")
    [link] = message.links()
    assert link.startswith(live_site.url(site, "/invitations/"))

    phone = browser.new_context(viewport=PHONE)
    joiner = phone.new_page()
    joiner.goto(link)
    assert "joiner@example.com" in joiner.locator("main").inner_text()
    assert _no_sideways_scroll(joiner)
    joiner.locator("#id_password").fill("short")
    joiner.get_by_label("New password again").fill("short")
    joiner.get_by_role("button", name="Create my login").click()
    assert "too short" in joiner.locator("main").inner_text()
    joiner.locator("#id_password").fill(NEW_PASSWORD)
    joiner.get_by_label("New password again").fill(NEW_PASSWORD)
    joiner.get_by_label("New password again").press("Enter")
    joiner.wait_for_url(live_site.url(site, "/login"))
    assert "Welcome" in joiner.locator(".messages").inner_text()
    log_in(joiner, live_site, site, "joiner@example.com", NEW_PASSWORD)

    joiner.goto(link)  # used: refused
    assert "This link is not valid" in joiner.locator("h1").inner_text()
    phone.close()


def test_a_forgotten_password_is_reset_from_the_login_page_through_the_mail(
    site: TenantHandle, live_site: LiveSite, page: Any, mail: SmtpServer
) -> None:
    user = user_with_role(site, f"forgetful-{uuid.uuid4().hex[:6]}", "Employee")
    with tenant_context(site.tenant):
        User.objects.filter(pk=user.pk).update(email="forgetful@example.com", username="forgetful@example.com")
    page.goto(live_site.url(site, "/login"))
    page.get_by_role("link", name="Forgotten password?").click()
    page.get_by_label("E-mail").fill("forgetful@example.com")
    page.get_by_label("E-mail").press("Enter")
    page.wait_for_url(live_site.url(site, "/login"))
    assert "on its way" in page.locator(".messages").inner_text()
    [message] = mail.wait_for(1, to="forgetful@example.com")
    [link] = message.links()
    page.goto(link)
    page.locator("#id_password").fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url(live_site.url(site, "/login"))
    log_in(page, live_site, site, "forgetful@example.com", NEW_PASSWORD)


def test_an_admin_deactivates_and_changes_a_role_at_phone_width(
    site: TenantHandle, live_site: LiveSite, page: Any, mail: SmtpServer
) -> None:
    admin = user_with_role(site, f"admin-{uuid.uuid4().hex[:6]}", "Admin")
    target = user_with_role(site, f"target-{uuid.uuid4().hex[:6]}", "Employee")
    with tenant_context(site.tenant):
        User.objects.filter(pk=target.pk).update(username="target@example.com", email="target@example.com")
    page.set_viewport_size(PHONE)
    log_in(page, live_site, site, admin.username)
    page.goto(live_site.url(site, "/users"))
    assert _no_sideways_scroll(page)
    page.get_by_label("Role of target@example.com", exact=True).select_option("Manager")
    with page.expect_navigation():
        page.get_by_role("button", name="Change the role of target@example.com").click()
    assert "now has the Manager role" in page.locator(".messages").inner_text()
    page.get_by_role("button", name="Deactivate target@example.com").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "can no longer sign in" in page.locator(".messages").inner_text()
    assert page.get_by_role("button", name="Reactivate target@example.com").is_visible()


def test_an_admin_changes_the_settings_by_keyboard_at_phone_width(
    site: TenantHandle, live_site: LiveSite, page: Any
) -> None:
    from tenants.models import Tenant

    admin = user_with_role(site, f"admin-{uuid.uuid4().hex[:6]}", "Admin")
    before = Tenant.objects.get(pk=site.tenant.pk)
    page.set_viewport_size(PHONE)
    log_in(page, live_site, site, admin.username)
    try:
        page.goto(live_site.url(site, "/settings"))
        assert _no_sideways_scroll(page)
        page.get_by_label("Auto-accept threshold").focus()
        page.keyboard.press("Control+A")
        page.keyboard.type("0.85")
        page.get_by_label("Saturday").check()
        with page.expect_navigation():
            page.get_by_label("Auto-accept threshold").press("Enter")
        assert "Settings saved" in page.locator(".messages").inner_text()
        after = Tenant.objects.get(pk=site.tenant.pk)
        assert str(after.auto_accept_threshold) == "0.85"
        assert after.settings["work_week"] == [0, 1, 2, 3, 4, 5]
        page.get_by_label("Auto-accept threshold").fill("3")
        with page.expect_navigation():
            page.get_by_role("button", name="Save settings").click()
        assert "less than or equal to 1" in page.locator("main").inner_text()
    finally:
        Tenant.objects.filter(pk=before.pk).update(
            auto_accept_threshold=before.auto_accept_threshold, settings=before.settings
        )


def test_a_user_changes_their_password_from_the_top_bar(site: TenantHandle, live_site: LiveSite, page: Any) -> None:
    user = user_with_role(site, f"emp-{uuid.uuid4().hex[:6]}", "Employee")
    page.set_viewport_size(PHONE)
    log_in(page, live_site, site, user.username)
    page.get_by_role("link", name=user.username).click()
    page.wait_for_url(live_site.url(site, "/account/password"))
    assert _no_sideways_scroll(page)
    page.get_by_label("Current password").fill("correct-horse-battery")
    page.locator("#id_password").fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    with page.expect_navigation():
        page.get_by_label("New password again").press("Enter")
    assert "Your password is changed" in page.locator(".messages").inner_text()
