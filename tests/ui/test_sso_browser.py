"""Single sign-on in a real browser against the loopback OpenID Connect provider: an Admin sets it up by keyboard
at phone width, the "Sign in with" button logs a new person in, a refused sign-in shows its page; axe checks the
login page with its button and the refusal page at both widths."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle
from tests.support.oidc_provider import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, OidcProvider
from tests.ui.conftest import LAPTOP, PHONE, LiveSite, log_in
from tests.ui.seed import user_with_role
from tests.ui.test_accessibility import _RUN_AXE, _axe_source

pytestmark = pytest.mark.slow


@pytest.fixture
def provider(site: TenantHandle) -> Iterator[OidcProvider]:
    """The loopback provider; the logins it creates in the tenant are removed afterwards."""
    running = OidcProvider().start()
    running.add_client()
    try:
        yield running
    finally:
        running.stop()
        with tenant_context(site.tenant):
            User.objects.filter(email__endswith="@sso.example").delete()


def _no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _axe_violations(page: Any, axe: str) -> list[Any]:
    page.add_script_tag(content=axe)
    result = page.evaluate(_RUN_AXE)
    assert result["passed"] >= 10
    return list(result["violations"])


def test_an_admin_sets_up_sso_by_keyboard_and_the_button_signs_a_new_person_in(
    site: TenantHandle, live_site: LiveSite, browser: Any, provider: OidcProvider
) -> None:
    admin = user_with_role(site, f"admin-{uuid.uuid4().hex[:6]}", "Admin")
    provider.add_user("new.person@sso.example", name="New Person", hrms_role="Manager")
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        log_in(page, live_site, site, admin.username)
        page.goto(live_site.url(site, "/settings"))
        page.get_by_role("link", name="Single sign-on").click()
        page.wait_for_url(live_site.url(site, "/settings/sso"))
        assert _no_sideways_scroll(page)
        page.get_by_label("Provider name").focus()
        page.keyboard.type("Example ID")
        for label, value in (
            ("Issuer URL", provider.issuer),
            ("Client ID", DEFAULT_CLIENT_ID),
            ("Client secret", DEFAULT_CLIENT_SECRET),
            ("Allowed e-mail domains", "sso.example"),
            ("Role claim", "hrms_role"),
        ):
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.labels[0].textContent").startswith(label)
            page.keyboard.type(value)
        page.get_by_label("Client secret").press("Enter")
        page.wait_for_url(live_site.url(site, "/settings/sso"))
        assert "Single sign-on settings saved" in page.locator(".messages").inner_text()
        assert DEFAULT_CLIENT_SECRET not in page.content()
        page.get_by_role("button", name="Log out").click()

        # A new person, at the login page: the button goes to the provider and back, signed in.
        person = browser.new_context(viewport=LAPTOP)
        person.set_default_timeout(15_000)
        visitor = person.new_page()
        visitor.goto(live_site.url(site, "/login"))
        visitor.get_by_role("link", name="Sign in with Example ID").click()
        visitor.wait_for_url(f"{provider.issuer}/authorize?**")
        visitor.get_by_label("E-mail").fill("new.person@sso.example")
        visitor.get_by_role("button", name="Sign in").click()
        visitor.wait_for_url(live_site.url(site, "/"))
        assert "Signed in as new.person@sso.example with Example ID" in visitor.locator(".messages").inner_text()
        person.close()
    finally:
        context.close()
    with tenant_context(site.tenant):
        user = User.objects.get(email="new.person@sso.example")
        assert list(user.groups.values_list("name", flat=True)) == ["Manager"]


def test_a_refused_sign_in_shows_why_and_the_sso_pages_pass_axe_at_both_widths(
    site: TenantHandle, live_site: LiveSite, browser: Any, provider: OidcProvider
) -> None:
    from accounts.services.sso import SsoSettings, sso_provider_configure
    from audit.services import SYSTEM

    with tenant_context(site.tenant):
        sso_provider_configure(
            actor=SYSTEM,
            values=SsoSettings(
                display_name="Example ID",
                issuer=provider.issuer,
                client_id=DEFAULT_CLIENT_ID,
                client_secret=DEFAULT_CLIENT_SECRET,
                allowed_domains=["sso.example"],
                role_claim="hrms_role",
                default_role="Employee",
                enabled=True,
                require_sso=True,
            ),
        )
    provider.add_user("outsider@elsewhere.example")
    axe = _axe_source()
    found: dict[str, list[Any]] = {}
    context = browser.new_context(viewport=LAPTOP, bypass_csp=True)  # axe is injected as a script
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            page.goto(live_site.url(site, "/login"))
            assert "The password form below is for Admins" in page.content()
            assert _no_sideways_scroll(page)
            found[f"{name} /login"] = _axe_violations(page, axe)
            page.get_by_role("link", name="Sign in with Example ID").focus()
            page.keyboard.press("Enter")
            page.wait_for_url(f"{provider.issuer}/authorize?**")
            page.get_by_label("E-mail").fill("outsider@elsewhere.example")
            page.get_by_label("E-mail").press("Enter")
            page.wait_for_url(live_site.url(site, "/sso/callback?**"))
            alert = page.get_by_role("alert").inner_text()
            assert "Addresses at elsewhere.example may not sign in to this company" in alert
            assert _no_sideways_scroll(page)
            found[f"{name} refusal"] = _axe_violations(page, axe)
    finally:
        context.close()
    assert not {label: violations for label, violations in found.items() if violations}
    with tenant_context(site.tenant):
        assert not User.objects.filter(email="outsider@elsewhere.example").exists()
