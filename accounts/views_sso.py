"""Single sign-on pages: the start of a sign-in at the tenant's provider, its callback, and the Admin's settings.

A sign-in keeps its state, nonce and PKCE verifier in the (tenant's) session between the two requests; the
callback takes them out once, so a replayed or forged callback finds nothing and is refused.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import SsoProvider
from accounts.oidc import SsoRejected, SsoUnavailable, authorization_request, code_exchange, provider_problem
from accounts.protection import sso_refusal_count
from accounts.selectors import sso_provider_get
from accounts.services.sso import (
    SsoSettings,
    sso_login,
    sso_provider_configure,
    sso_refusal_record,
)
from core.errors import ApplicationError
from core.roles import ROLES
from core.ui import admin_required, error_to_form, render_page, safe_next

PENDING_KEY = "sso_pending"
# The login page shows this once: why the provider could not be used (password login still works for Admins).
PROBLEM_KEY = "sso_problem"
CALLBACK_PATH = "/sso/callback"


def callback_url(request: HttpRequest) -> str:
    """The redirect URI registered at the provider: the tenant's own host."""
    return request.build_absolute_uri(CALLBACK_PATH)


def _usable_provider() -> SsoProvider | None:
    provider = sso_provider_get()
    return provider if provider is not None and provider.enabled else None


def _too_many(retry_after: int) -> str:
    return f"Too many refused sign-in attempts from your address. Try again in {retry_after} s."


def _unavailable(request: HttpRequest, provider: SsoProvider, exc: SsoUnavailable) -> HttpResponse:
    if sso_refusal_count(request) is None:
        sso_refusal_record(reason="unavailable", message=str(exc), issuer=provider.issuer)
    request.session[PROBLEM_KEY] = f"Sign-in with {provider.display_name} is unavailable: {exc}"
    return redirect("login")


def _refused(
    request: HttpRequest, *, reason: str, message: str, issuer: str, email: str = "", status: int = 403
) -> HttpResponse:
    retry_after = sso_refusal_count(request)
    if retry_after is not None:
        response = render_page(request, "accounts/sso_refused.html", {"message": _too_many(retry_after)}, status=429)
        response["Retry-After"] = str(retry_after)
        return response
    sso_refusal_record(reason=reason, message=message, issuer=issuer, email=email)
    return render_page(request, "accounts/sso_refused.html", {"message": message}, status=status)


def login_page_context(request: HttpRequest) -> dict[str, Any]:
    """What the login page shows about single sign-on: the button, and why the provider failed (once)."""
    provider = _usable_provider()
    problem = request.session.pop(PROBLEM_KEY, None) if hasattr(request, "session") else None
    if provider is None:
        return {"sso_problem": problem}
    if problem is None:
        reason = provider_problem(provider.issuer)
        problem = f"Sign-in with {provider.display_name} is unavailable: {reason}" if reason else None
    return {
        "sso_name": provider.display_name,
        "sso_required": provider.require_sso,
        "sso_problem": problem,
    }


@require_GET
def sso_start(request: HttpRequest) -> HttpResponse:
    provider = _usable_provider()
    if provider is None:
        return render_page(
            request,
            "accounts/sso_refused.html",
            {"message": "This company has not set up single sign-on."},
            status=404,
        )
    try:
        started = authorization_request(
            issuer=provider.issuer, client_id=provider.client_id, redirect_uri=callback_url(request)
        )
    except SsoUnavailable as exc:
        return _unavailable(request, provider, exc)
    request.session[PENDING_KEY] = {
        "state": started.state,
        "nonce": started.nonce,
        "code_verifier": started.code_verifier,
        "issuer": provider.issuer,
        "next": safe_next(request, "/"),
    }
    return redirect(started.url)


@require_GET
def sso_callback(request: HttpRequest) -> HttpResponse:
    provider = _usable_provider()
    pending: dict[str, Any] | None = request.session.pop(PENDING_KEY, None)
    issuer = provider.issuer if provider is not None else ""
    if provider is None:
        return _refused(request, reason="not_configured", message="Single sign-on is not set up.", issuer=issuer)
    state = str(request.GET.get("state", ""))
    if pending is None or not state or state != pending.get("state") or pending.get("issuer") != provider.issuer:
        return _refused(
            request,
            reason="state",
            message="This sign-in answer does not match a sign-in started here. Start again from the sign-in page.",
            issuer=issuer,
            status=400,
        )
    if request.GET.get("error"):
        error = str(request.GET["error"])[:60]
        return _refused(request, reason="provider_error", message=f"The sign-in provider said: {error}.", issuer=issuer)
    code = str(request.GET.get("code", ""))
    if not code:
        return _refused(request, reason="code", message="The sign-in answer has no code.", issuer=issuer, status=400)
    try:
        claims = code_exchange(
            issuer=provider.issuer,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            redirect_uri=callback_url(request),
            code=code,
            code_verifier=str(pending.get("code_verifier", "")),
            nonce=str(pending.get("nonce", "")),
        )
    except SsoUnavailable as exc:
        return _unavailable(request, provider, exc)
    except SsoRejected as exc:
        return _refused(request, reason=exc.reason, message=exc.message, issuer=issuer)
    try:
        user = sso_login(provider=provider, claims=claims)
    except SsoRejected as exc:
        email = claims.get("email")
        return _refused(
            request,
            reason=exc.reason,
            message=exc.message,
            issuer=issuer,
            email=email if isinstance(email, str) else "",
        )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Signed in as {user.get_username()} with {provider.display_name}.")
    target = str(pending.get("next") or "/")
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/")


class SsoSettingsForm(forms.Form):
    display_name = forms.CharField(
        max_length=100, label="Provider name", help_text='Shown on the sign-in button: "Sign in with …".'
    )
    issuer = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="Issuer URL",
        help_text="Its /.well-known/openid-configuration is read from here.",
    )
    client_id = forms.CharField(max_length=255, label="Client ID")
    client_secret = forms.CharField(
        max_length=1000,
        required=False,
        label="Client secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave empty to keep the stored secret.",
    )
    allowed_domains = forms.CharField(
        max_length=2000,
        label="Allowed e-mail domains",
        help_text="Comma-separated, e.g. example.com, example.org. Other addresses are refused.",
    )
    role_claim = forms.CharField(
        max_length=100,
        required=False,
        label="Role claim",
        help_text="The ID token claim that names the role of a new user (Admin, HR, Manager or Employee).",
    )
    default_role = forms.ChoiceField(
        choices=[(role, role) for role in ROLES], label="Default role", help_text="When the claim is absent."
    )
    enabled = forms.BooleanField(required=False, label="Offer sign-in with this provider")
    require_sso = forms.BooleanField(required=False, label="Require single sign-on (password logins only for Admins)")


@admin_required
@require_http_methods(["GET", "POST"])
def sso_settings_page(request: HttpRequest) -> HttpResponse:
    provider = sso_provider_get()
    initial: dict[str, Any] = {"default_role": "Employee", "enabled": True}
    if provider is not None:
        initial = {
            "display_name": provider.display_name,
            "issuer": provider.issuer,
            "client_id": provider.client_id,
            "allowed_domains": ", ".join(provider.allowed_domains),
            "role_claim": provider.role_claim,
            "default_role": provider.default_role,
            "enabled": provider.enabled,
            "require_sso": provider.require_sso,
        }
    form = SsoSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        values = SsoSettings(
            display_name=data["display_name"],
            issuer=data["issuer"],
            client_id=data["client_id"],
            client_secret=data["client_secret"] or None,
            allowed_domains=[part for part in data["allowed_domains"].split(",")],
            role_claim=data["role_claim"],
            default_role=data["default_role"],
            enabled=data["enabled"],
            require_sso=data["require_sso"],
        )
        try:
            sso_provider_configure(actor=request.user, values=values)
        except ApplicationError as exc:
            error_to_form(request, form, exc)
        else:
            messages.success(request, "Single sign-on settings saved.")
            return redirect("sso-settings-page")
    problem = provider_problem(provider.issuer) if provider is not None and provider.enabled else None
    return render_page(
        request,
        "accounts/sso_settings.html",
        {"form": form, "provider": provider, "problem": problem, "callback_url": callback_url(request)},
    )
