"""Two-step sign-in in a real browser: turned on by keyboard with a real code from the page's secret, then a
login that asks for the code, and at phone width a login with a recovery code."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import pytest
from django_otp.oath import TOTP

from tests.conftest import PASSWORD, TenantHandle
from tests.ui.conftest import LAPTOP, PHONE, LiveSite, log_in
from tests.ui.seed import user_with_role

pytestmark = pytest.mark.slow

# Installed before any page script runs (through the DevTools protocol, so the policy does not apply to it).
_RECORD_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


def code_at(key: bytes, when: float) -> str:
    generator = TOTP(key)
    generator.time = when
    return f"{generator.token():06d}"


def password_step(page: Any, live_site: LiveSite, handle: TenantHandle, username: str) -> None:
    page.goto(live_site.url(handle, "/login"))
    page.get_by_label("Username (e-mail)").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_site.url(handle, "/login/code"))


def test_two_step_is_turned_on_with_a_real_code_and_the_next_login_asks_for_one(
    site: TenantHandle, live_site: LiveSite, page: Any, context: Any, browser: Any
) -> None:
    admin = user_with_role(site, f"admin-{uuid.uuid4().hex[:6]}", "Admin")
    context.add_init_script(_RECORD_CSP_VIOLATIONS)
    log_in(page, live_site, site, admin.username)
    page.goto(live_site.url(site, "/account/two-step"))
    page.get_by_role("button", name="Set up two-step sign-in").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#two-step-secret")
    key = base64.b32decode(page.locator("#two-step-secret").inner_text().strip())
    assert page.get_by_role("link", name="open it in the app").get_attribute("href").startswith("otpauth://totp/")
    # The QR code is drawn in the page under its Content-Security-Policy, big enough to scan, and scales down to
    # a phone's width.
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    assert qr.is_visible()
    assert qr.bounding_box()["width"] >= 200
    assert page.evaluate("window.__csp") == []
    page.set_viewport_size(PHONE)
    box = qr.bounding_box()
    assert 180 <= box["width"] <= PHONE["width"] - 32
    assert box["width"] == pytest.approx(box["height"], abs=1)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size(LAPTOP)
    # The code of the step before: accepted (one step of drift), and it leaves the current step's code unused.
    page.get_by_role("textbox", name="Code").focus()
    page.keyboard.type(code_at(key, time.time() - 30))
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Two-step sign-in is on")
    codes = [text.strip() for text in page.locator(".recovery-codes code").all_inner_texts()]
    assert len(codes) == 10

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(live_site.url(site, "/login"))
    password_step(page, live_site, site, admin.username)
    page.get_by_label("Code").fill("000000" if code_at(key, time.time()) != "000000" else "111111")
    page.get_by_role("button", name="Continue").click()
    assert "not right" in page.locator("form").inner_text()
    page.get_by_label("Code").fill(code_at(key, time.time()))
    page.get_by_label("Code").press("Enter")
    page.wait_for_url(live_site.url(site, "/"))
    assert f"Signed in as {admin.username}" in page.locator(".messages").inner_text()

    phone = browser.new_context(viewport=PHONE)
    try:
        small = phone.new_page()
        password_step(small, live_site, site, admin.username)
        assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        small.get_by_label("Code").fill(codes[0])
        small.get_by_role("button", name="Continue").click()
        small.wait_for_url(live_site.url(site, "/"))
        assert "9 left" in small.locator(".messages").inner_text()
        small.goto(live_site.url(site, "/account/two-step"))
        assert "Recovery codes left: 9" in small.locator("main").inner_text()
        assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        phone.close()
