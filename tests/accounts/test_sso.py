"""Single sign-on against a real OpenID Connect provider on loopback (tests/support/oidc_provider.py): sign-in
end to end, every refusal with its page and audit event, require-SSO, a broken provider, the Admin's API and the
isolation of one tenant's provider from another tenant's host."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import SsoProvider
from accounts.services.sso import SsoSettings, sso_provider_configure
from audit.models import AuditEvent
from audit.services import SYSTEM
from tests.conftest import PASSWORD, TenantHandle, make_user, token_for
from tests.support.oidc_provider import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    OidcProvider,
    oidc_provider_fixture,  # noqa: F401 - provides `oidc_provider`
)
from tests.timesheets.factories import auth

API = "/api/sso/provider"


def configure(handle: TenantHandle, provider: OidcProvider | None, **overrides: Any) -> None:
    values: dict[str, Any] = {
        "display_name": "Example ID",
        "issuer": provider.issuer if provider else "http://127.0.0.1:9",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "allowed_domains": [f"{handle.tenant.slug}.test", "example.com"],
        "role_claim": "hrms_role",
        "default_role": "Employee",
        "enabled": True,
        "require_sso": False,
        **overrides,
    }
    with tenant_context(handle.tenant):
        sso_provider_configure(actor=SYSTEM, values=SsoSettings(**values))


def sign_in(handle: TenantHandle, email: str, client: Client | None = None) -> tuple[Client, Any]:
    """Start at the tenant, sign in at the provider's page as `email`, follow the answer back to the callback."""
    client = client or handle.client()
    start = client.get("/sso/start")
    assert start.status_code == 302, start.content[:300]
    with httpx.Client(timeout=10) as browser:
        answer = browser.post(start["Location"], data={"email": email})
    assert answer.status_code == 302, answer.text[:300]
    back = urlsplit(answer.headers["location"])
    assert back.path == "/sso/callback"
    return client, client.get(f"/sso/callback?{back.query}")


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def refusals(handle: TenantHandle) -> list[dict[str, Any]]:
    with tenant_context(handle.tenant):
        return [event.data for event in AuditEvent.objects.filter(action="auth.sso_refused").order_by("sequence")]


def users_named(handle: TenantHandle, email: str) -> int:
    with tenant_context(handle.tenant):
        return User.objects.filter(email__iexact=email).count()


def test_a_first_sign_in_creates_the_user_with_the_claimed_role_and_logs_them_in(
    alpha: TenantHandle, oidc_provider: OidcProvider
) -> None:
    configure(alpha, oidc_provider)
    oidc_provider.add_user("new.hire@alpha.test", hrms_role="HR")
    client, response = sign_in(alpha, "new.hire@alpha.test")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in(client)
    with tenant_context(alpha.tenant):
        user = User.objects.get(email="new.hire@alpha.test")
        assert list(user.groups.values_list("name", flat=True)) == ["HR"]
        assert not user.has_usable_password()
        actions = list(AuditEvent.objects.filter(object_id=str(user.pk)).values_list("action", "data"))
    assert ("user.create", {"via": "sso", "role": "HR", "issuer": oidc_provider.issuer}) in actions
    assert any(action == "auth.login" and data["via"] == "sso" and data["created"] for action, data in actions)
    assert client.get("/").status_code == 200


def test_a_first_sign_in_becomes_the_login_of_the_employee_record_with_that_e_mail(
    alpha: TenantHandle, oidc_provider: OidcProvider
) -> None:
    from tests.timesheets.factories import make_employee

    employee = make_employee(alpha, name="Ada Staff", email="Ada.Staff@alpha.test")
    configure(alpha, oidc_provider)
    oidc_provider.add_user("ada.staff@alpha.test")
    client, response = sign_in(alpha, "ada.staff@alpha.test")
    assert response.status_code == 302
    with tenant_context(alpha.tenant):
        employee.refresh_from_db()
        assert employee.user is not None
        assert str(employee.user.pk) == client.session["_auth_user_id"]


def test_a_sign_in_links_an_existing_login_by_e_mail_and_keeps_its_role(
    alpha: TenantHandle, oidc_provider: OidcProvider
) -> None:
    existing = make_user(alpha, "Known.Person@alpha.test", "Manager")
    configure(alpha, oidc_provider)
    oidc_provider.add_user("known.person@alpha.test", hrms_role="Employee")
    client, response = sign_in(alpha, "known.person@alpha.test")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(existing.pk)
    assert users_named(alpha, "known.person@alpha.test") == 1
    with tenant_context(alpha.tenant):
        assert list(existing.groups.values_list("name", flat=True)) == ["Manager"]


def test_without_the_role_claim_a_new_user_gets_the_default_role(
    alpha: TenantHandle, oidc_provider: OidcProvider
) -> None:
    configure(alpha, oidc_provider, default_role="Manager")
    oidc_provider.add_user("plain@alpha.test")
    client, response = sign_in(alpha, "plain@alpha.test")
    assert response.status_code == 302
    assert signed_in(client)
    with tenant_context(alpha.tenant):
        assert list(User.objects.get(email="plain@alpha.test").groups.values_list("name", flat=True)) == ["Manager"]


def test_a_callback_with_a_wrong_state_is_refused_and_nobody_is_logged_in(
    alpha: TenantHandle, oidc_provider: OidcProvider
) -> None:
    configure(alpha, oidc_provider)
    oidc_provider.add_user("state@alpha.test")
    client = alpha.client()
    start = client.get("/sso/start")
    with httpx.Client() as browser:
        answer = browser.post(start["Location"], data={"email": "state@alpha.test"})
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    response = client.get(f"/sso/callback?code={code}&state=forged-{uuid.uuid4().hex}")
    assert response.status_code == 400
    assert "does not match a sign-in started here" in response.content.decode()
    assert not signed_in(client)
    assert refusals(alpha)[-1]["reason"] == "state"
    assert users_named(alpha, "state@alpha.test") == 0
    # The pending sign-in is used up: the right state afterwards finds nothing either.
    right = client.get(f"/sso/callback?{urlsplit(answer.headers['location']).query}")
    assert right.status_code == 400
    assert not signed_in(client)


@pytest.mark.parametrize(
    ("override", "reason", "words"),
    [
        ({"nonce": "replayed-nonce"}, "nonce", "does not belong to this sign-in attempt"),
        ({"iss": "https://other-issuer.example"}, "issuer", "issued by another provider"),
        ({"aud": ["another-application"]}, "audience", "issued for another application"),
        ({"exp": -3600, "iat": 1}, "expired", "has expired"),
    ],
)
def test_an_id_token_that_fails_a_check_is_refused_with_a_page_and_an_audit_event(
    alpha: TenantHandle, oidc_provider: OidcProvider, override: dict[str, Any], reason: str, words: str
) -> None:
    configure(alpha, oidc_provider)
    oidc_provider.add_user("checked@alpha.test", hrms_role="Admin")
    oidc_provider.id_token_overrides = override
    client, response = sign_in(alpha, "checked@alpha.test")
    assert response.status_code == 403
    page = response.content.decode()
    assert "You are not signed in" in page
    assert words in page
    assert not signed_in(client)
    assert refusals(alpha)[-1]["reason"] == reason
    assert users_named(alpha, "checked@alpha.test") == 0


def test_an_address_outside_the_allowed_domains_is_refused(alpha: TenantHandle, oidc_provider: OidcProvider) -> None:
    configure(alpha, oidc_provider)
    oidc_provider.add_user("intruder@elsewhere.test")
    client, response = sign_in(alpha, "intruder@elsewhere.test")
    assert response.status_code == 403
    assert "Addresses at elsewhere.test may not sign in" in response.content.decode()
    assert not signed_in(client)
    last = refusals(alpha)[-1]
    assert (last["reason"], last["email"]) == ("domain", "intruder@elsewhere.test")
    assert users_named(alpha, "intruder@elsewhere.test") == 0


def test_a_claim_naming_an_unknown_role_is_refused(alpha: TenantHandle, oidc_provider: OidcProvider) -> None:
    configure(alpha, oidc_provider)
    oidc_provider.add_user("root@alpha.test", hrms_role="Superuser")
    client, response = sign_in(alpha, "root@alpha.test")
    assert response.status_code == 403
    assert "names a role this product does not know: Superuser" in response.content.decode()
    assert not signed_in(client)
    assert refusals(alpha)[-1]["reason"] == "role"
    assert users_named(alpha, "root@alpha.test") == 0


def test_a_deactivated_login_cannot_sign_in_through_the_provider(
    alpha: TenantHandle, oidc_provider: OidcProvider
) -> None:
    user = make_user(alpha, "gone@alpha.test", "Employee")
    with tenant_context(alpha.tenant):
        User.objects.filter(pk=user.pk).update(is_active=False)
    configure(alpha, oidc_provider)
    oidc_provider.add_user("gone@alpha.test")
    client, response = sign_in(alpha, "gone@alpha.test")
    assert response.status_code == 403
    assert not signed_in(client)
    assert refusals(alpha)[-1]["reason"] == "inactive"


def test_requiring_sso_refuses_password_logins_except_for_admins(
    alpha: TenantHandle, oidc_provider: OidcProvider
) -> None:
    employee = make_user(alpha, "worker@alpha.test", "Employee")
    admin = make_user(alpha, "boss@alpha.test", "Admin")
    configure(alpha, oidc_provider, require_sso=True)
    client = alpha.client()
    page = client.get("/login").content.decode()
    assert "Sign in with Example ID" in page
    assert "The password form below is for Admins" in page
    refused = client.post("/login", {"username": employee.username, "password": PASSWORD})
    assert refused.status_code == 403
    assert "This company signs in with Example ID" in refused.content.decode()
    assert not signed_in(client)
    assert refusals(alpha)[-1]["reason"] == "sso_required"
    token = client.post(
        "/api/auth/token", {"username": employee.username, "password": PASSWORD}, content_type="application/json"
    )
    assert token.status_code == 400
    assert "single sign-on" in token.json()["error"]["message"]
    assert client.post("/login", {"username": admin.username, "password": PASSWORD}).status_code == 302
    assert signed_in(client)


def test_a_broken_provider_leaves_admin_password_login_working_and_says_why(
    alpha: TenantHandle, oidc_provider: OidcProvider
) -> None:
    admin = make_user(alpha, "keeper@alpha.test", "Admin")
    configure(alpha, oidc_provider, require_sso=True)
    oidc_provider.broken = True
    client = alpha.client()
    start = client.get("/sso/start")
    assert start.status_code == 302
    assert start["Location"] == "/login"
    page = client.get("/login").content.decode()
    assert "Sign-in with Example ID is unavailable" in page
    assert "answered HTTP 500" in page
    assert "Admins can still log in with their password" in page
    assert refusals(alpha)[-1]["reason"] == "unavailable"
    assert client.post("/login", {"username": admin.username, "password": PASSWORD}).status_code == 302


def test_an_unreachable_provider_is_named_on_the_login_page(alpha: TenantHandle) -> None:
    configure(alpha, None)  # port 9 on loopback: nothing listens
    page = alpha.client().get("/login").content.decode()
    assert "Sign-in with Example ID is unavailable: The sign-in provider could not be reached" in page


def test_tenant_isolation_probe_a_providers_configuration_is_never_used_on_another_tenants_host(
    alpha: TenantHandle, beta: TenantHandle, oidc_provider: OidcProvider
) -> None:
    configure(alpha, oidc_provider)
    oidc_provider.add_user("someone@beta.test")
    oidc_provider.add_user("someone@alpha.test")
    beta_client = beta.client()
    assert "Sign in with" not in beta_client.get("/login").content.decode()
    assert beta_client.get("/sso/start").status_code == 404
    # Alpha's answer carried to beta's host: beta has no sign-in in progress and no provider; refused.
    alpha_client = alpha.client()
    start = alpha_client.get("/sso/start")
    with httpx.Client() as browser:
        answer = browser.post(start["Location"], data={"email": "someone@alpha.test"})
    query = urlsplit(answer.headers["location"]).query
    assert beta_client.get(f"/sso/callback?{query}").status_code == 403
    assert not signed_in(beta_client)
    assert users_named(beta, "someone@alpha.test") == 0
    with tenant_context(beta.tenant):
        assert not SsoProvider.objects.exists()
    beta_admin = token_for(beta, make_user(beta, "sso-probe@beta.test", "Admin"))
    seen_by_beta = beta.client().get(API, **auth(beta_admin)).json()
    assert seen_by_beta["configured"] is False
    assert oidc_provider.issuer not in str(seen_by_beta)
    # And a sign-in through alpha's provider never creates a login in beta.
    _, response = sign_in(alpha, "someone@alpha.test", client=alpha_client)
    assert response.status_code == 302
    assert users_named(alpha, "someone@alpha.test") == 1
    assert users_named(beta, "someone@alpha.test") == 0


def test_an_admin_configures_the_provider_through_the_api_and_the_secret_never_comes_back(
    alpha: TenantHandle,
) -> None:
    admin = token_for(alpha, make_user(alpha, "sso-admin@alpha.test", "Admin"))
    client = alpha.client()
    assert client.get(API, **auth(admin)).json()["configured"] is False
    body = {
        "display_name": "Okta",
        "issuer": "https://login.example.com",
        "client_id": "hrms",
        "client_secret": "very-secret-client-value-42",
        "allowed_domains": ["example.com", "alpha.test"],
        "role_claim": "groups",
        "default_role": "Employee",
        "require_sso": True,
    }
    saved = client.put(API, body, "application/json", **auth(admin))
    assert saved.status_code == 200, saved.content
    data = saved.json()
    assert data["client_secret_set"] is True
    assert data["configured"] is True
    assert data["callback_url"] == "http://alpha.localhost/sso/callback"
    assert "very-secret-client-value-42" not in saved.content.decode()
    assert "very-secret-client-value-42" not in client.get(API, **auth(admin)).content.decode()
    # Changing another field keeps the secret; the audit event says what changed, never the secret.
    renamed = client.put(
        API, {**body, "display_name": "Okta SSO", "client_secret": None}, "application/json", **auth(admin)
    )
    assert renamed.status_code == 400  # null is not a secret; leaving it out keeps the stored one
    del body["client_secret"]
    assert client.put(API, {**body, "display_name": "Okta SSO"}, "application/json", **auth(admin)).status_code == 200
    with tenant_context(alpha.tenant):
        provider = SsoProvider.objects.get()
        assert provider.client_secret == "very-secret-client-value-42"
        with connection.cursor() as cursor:
            cursor.execute("SELECT client_secret FROM accounts_ssoprovider")
            assert "very-secret" not in cursor.fetchone()[0]
        events = list(
            AuditEvent.objects.filter(action="sso.configure").order_by("sequence").values_list("data", flat=True)
        )
    assert events[-1]["changed"] == ["display_name"]
    assert events[-1]["client_secret_changed"] is False
    assert all("very-secret" not in str(event) for event in events)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"issuer": "ftp://login.example.com"}, "issuer"),
        ({"allowed_domains": ["not a domain"]}, "allowed_domains"),
        ({"allowed_domains": []}, "allowed_domains"),
        ({"default_role": "Root"}, "default_role"),
        ({"client_secret": ""}, "client_secret"),
        ({"display_name": ""}, "display_name"),
    ],
)
def test_bad_provider_settings_are_a_400_naming_the_field_and_change_nothing(
    alpha: TenantHandle, change: dict[str, Any], field: str
) -> None:
    admin = token_for(alpha, make_user(alpha, "sso-bad@alpha.test", "Admin"))
    body = {
        "display_name": "Okta",
        "issuer": "https://login.example.com",
        "client_id": "hrms",
        "client_secret": "s",
        "allowed_domains": ["example.com"],
        "default_role": "Employee",
        **change,
    }
    response = alpha.client().put(API, body, "application/json", **auth(admin))
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    with tenant_context(alpha.tenant):
        assert not SsoProvider.objects.exists()


def test_a_first_configuration_without_a_secret_is_refused(alpha: TenantHandle) -> None:
    admin = token_for(alpha, make_user(alpha, "sso-nosecret@alpha.test", "Admin"))
    body = {
        "display_name": "Okta",
        "issuer": "https://login.example.com",
        "client_id": "hrms",
        "allowed_domains": ["example.com"],
        "default_role": "Employee",
    }
    response = alpha.client().put(API, body, "application/json", **auth(admin))
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["client_secret"]


def test_only_admins_read_or_change_the_provider(alpha: TenantHandle) -> None:
    hr = token_for(alpha, make_user(alpha, "sso-hr@alpha.test", "HR"))
    assert alpha.client().get(API, **auth(hr)).status_code == 403
    assert alpha.client().put(API, {}, "application/json", **auth(hr)).status_code == 403


def test_the_settings_page_saves_the_provider_and_never_shows_the_secret(alpha: TenantHandle) -> None:
    admin = make_user(alpha, "sso-page@alpha.test", "Admin")
    client = alpha.client()
    assert client.post("/login", {"username": admin.username, "password": PASSWORD}).status_code == 302
    form = {
        "display_name": "Example ID",
        "issuer": "http://127.0.0.1:9",  # nothing listens there
        "client_id": "hrms-web",
        "client_secret": "page-secret-value-777",
        "allowed_domains": "alpha.test, Example.com",
        "role_claim": "role",
        "default_role": "Employee",
        "enabled": "on",
    }
    assert client.post("/settings/sso", form).status_code == 302
    page = client.get("/settings/sso").content.decode()
    assert "hrms-web" in page
    assert "alpha.test, example.com" in page
    assert "page-secret-value-777" not in page
    assert "http://alpha.localhost/sso/callback" in page
    # The page says the provider cannot be used, and why.
    assert "The provider cannot be used right now: The sign-in provider could not be reached" in page
    bad = client.post("/settings/sso", {**form, "allowed_domains": "nope", "client_secret": ""})
    assert bad.status_code == 200
    assert "Not a domain name: nope" in bad.content.decode()
    with tenant_context(alpha.tenant):
        provider = SsoProvider.objects.get()
    assert provider.allowed_domains == ["alpha.test", "example.com"]
    assert provider.client_secret == "page-secret-value-777"


def test_the_make_run_provider_configures_the_demo_tenant_and_signs_in_its_admin(alpha: TenantHandle) -> None:
    from tests.support.oidc_provider import _demo_configure

    provider = OidcProvider().start()
    try:
        provider.add_client()
        _demo_configure(provider, alpha.tenant.slug)
        with tenant_context(alpha.tenant):
            configured = SsoProvider.objects.get()
        assert configured.issuer == provider.issuer
        assert "alpha.test" in configured.allowed_domains
        client, response = sign_in(alpha, alpha.admin_email)
        assert response.status_code == 302
        with tenant_context(alpha.tenant):
            assert client.session["_auth_user_id"] == str(User.objects.get(username=alpha.admin_email).pk)
    finally:
        provider.stop()


def test_a_flood_of_forged_callbacks_from_one_address_is_answered_429_without_more_audit_events(
    alpha: TenantHandle, oidc_provider: OidcProvider, settings: Any
) -> None:
    settings.SSO_REFUSALS_PER_ADDRESS = 3
    configure(alpha, oidc_provider)
    client = alpha.client()
    statuses = [client.get(f"/sso/callback?code=x&state=forged-{n}").status_code for n in range(6)]
    assert statuses == [400, 400, 400, 429, 429, 429]
    assert len(refusals(alpha)) == 3
    flooded = client.get("/sso/callback?code=x&state=forged")
    assert "Too many refused sign-in attempts from your address" in flooded.content.decode()
    assert int(flooded["Retry-After"]) > 0
    # Another address is not affected.
    other = Client(HTTP_HOST=alpha.host, REMOTE_ADDR="192.0.2.77")
    assert other.get("/sso/callback?code=x&state=forged").status_code == 400
