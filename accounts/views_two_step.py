"""Two-step sign-in pages: the code asked after a right password, and the account page that turns it on and off.

After a right password, a login with two-step sign-in is not logged in: the session only remembers who passed
the password (for TWO_STEP_PENDING_SECONDS), and `/login/code` logs it in once a code is accepted. Wrong codes
count against the login limits (accounts/protection.py) and are audited.
"""

from __future__ import annotations

import time
from typing import Any, cast

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.protection import login_begin, login_check_counted, login_succeeded
from accounts.selectors import two_step_enabled, two_step_pending_device, two_step_recovery_codes_left
from accounts.services import auth_login_record
from accounts.services.two_step import (
    two_step_confirm,
    two_step_disable,
    two_step_recovery_codes_renew,
    two_step_setup_of,
    two_step_setup_start,
    two_step_verify,
)
from core.errors import ApplicationError
from core.ui import error_to_form, render_page, safe_next

PENDING = "two_step_pending"
QR_LABEL = "QR code for your authenticator app"
_CODE_ATTRS = {"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off", "spellcheck": "false"}


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        label="Code",
        help_text="The 6-digit code your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(attrs=_CODE_ATTRS),
    )


class DisableForm(forms.Form):
    code = forms.CharField(max_length=32, required=False, label="Code", widget=forms.TextInput(attrs=_CODE_ATTRS))
    password = forms.CharField(
        max_length=256,
        required=False,
        strip=False,
        label="Or your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def two_step_challenge(request: HttpRequest, user: Any, next_url: str) -> HttpResponse:
    """The password was right: remember who, for a few minutes, and ask for the code."""
    request.session.cycle_key()
    request.session[PENDING] = {
        "user_id": user.pk,
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]),
        "next": next_url,
        "until": time.time() + int(settings.TWO_STEP_PENDING_SECONDS),
    }
    request.two_step_pending = True  # type: ignore[attr-defined]
    return redirect("login-code")


def _pending_user(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or float(pending.get("until", 0)) < time.time():
        return None
    user = User.objects.filter(pk=int(pending.get("user_id") or 0), is_active=True).first()
    return (user, pending) if user is not None else None


@never_cache
@require_http_methods(["GET", "POST"])
def login_code_page(request: HttpRequest) -> HttpResponse:
    """The second page of a login with two-step sign-in."""
    found = _pending_user(request)
    if found is None:
        request.session.pop(PENDING, None)
        messages.info(request, "Sign in with your password first (a code must follow within a few minutes).")
        return redirect("login")
    user, pending = found
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refusal = login_begin(request, user.get_username())
        if refusal is not None:
            response = render_page(request, "accounts/login_code.html", {"form": form, "refusal": refusal.message})
            response.status_code = 429
            response["Retry-After"] = str(refusal.retry_after)
            return response
        method = two_step_verify(user=user, code=form.cleaned_data["code"])
        if method is not None:
            login_succeeded(request, user.get_username())
            del request.session[PENDING]
            auth_login(request, user, backend=str(pending["backend"]))
            auth_login_record(user=user, second_factor=method)
            if method == "recovery_code":
                left = two_step_recovery_codes_left(user=user)
                messages.warning(request, f"You used a recovery code: {left} left. Make new ones if few are left.")
            messages.success(request, f"Signed in as {user.get_username()}.")
            return redirect(str(pending.get("next") or settings.LOGIN_REDIRECT_URL))
        form.add_error("code", "That code is not right, or it was already used.")
    return render_page(request, "accounts/login_code.html", {"form": form})


def _codes_page(request: HttpRequest, codes: list[str], message: str) -> HttpResponse:
    """Recovery codes are shown on this one answer, never stored in a page cache or a redirect."""
    messages.success(request, message)
    response = render_page(request, "accounts/two_step.html", {**_status(request), "recovery_codes": codes})
    response["Cache-Control"] = "no-store"
    return response


def qr_code_svg(text: str, label: str = QR_LABEL) -> SafeString:
    """`text` as a QR code in inline SVG markup, drawn here (no image request, nothing for the CSP to allow).

    Black modules on a white square with the standard quiet zone of four modules, whatever the page's colours;
    sized by its viewBox only, so the stylesheet scales it. Error correction M, raised by segno when the symbol
    has room for more. `role="img"` with `aria-label` names it for screen readers, which cannot read the code.
    """
    svg = segno.make(text, error="m", micro=False).svg_inline(
        border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr-code", lineclass="qr-dark"
    )
    # segno's markup, from the matrix alone; the name is escaped.
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))  # noqa: S308


def _status(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    pending = two_step_pending_device(user=user)
    setup = two_step_setup_of(pending) if pending is not None else None
    return {
        "enabled": two_step_enabled(user=user),
        "setup": setup,
        "setup_qr": qr_code_svg(setup.uri) if setup is not None else None,
        "codes_left": two_step_recovery_codes_left(user=user),
        "confirm_form": CodeForm(),
        "disable_form": DisableForm(),
        "renew_form": CodeForm(),
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_step_page(request: HttpRequest) -> HttpResponse:
    """Status; start the set-up (POST action=start) and confirm it with a first code (action=confirm)."""
    user = cast(User, request.user)
    context = _status(request)
    if request.method == "POST" and request.POST.get("action") == "start":
        try:
            two_step_setup_start(user=user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("two-step")
    if request.method == "POST":
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                codes = two_step_confirm(user=user, code=form.cleaned_data["code"])
            except ApplicationError as exc:
                error_to_form(request, form, exc)
            else:
                return _codes_page(request, codes, "Two-step sign-in is on.")
        context["confirm_form"] = form
    return render_page(request, "accounts/two_step.html", context)


@login_required
@require_POST
def two_step_off_page(request: HttpRequest) -> HttpResponse:
    form = DisableForm(request.POST)
    if form.is_valid():
        try:
            login_check_counted(
                request,
                request.user.get_username(),
                lambda: two_step_disable(
                    user=request.user, code=form.cleaned_data["code"], password=form.cleaned_data["password"]
                ),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message + " " + _fields_text(exc))
        else:
            messages.success(request, "Two-step sign-in is off; your recovery codes no longer work.")
    return redirect(safe_next(request, "/account/two-step"))


@login_required
@require_POST
def two_step_recovery_codes_page(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            codes = login_check_counted(
                request,
                request.user.get_username(),
                lambda: two_step_recovery_codes_renew(user=request.user, **form.cleaned_data),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message + " " + _fields_text(exc))
        else:
            return _codes_page(request, codes, "New recovery codes: the old ones no longer work.")
    else:
        messages.error(request, "Enter a code from your authenticator app.")
    return redirect("two-step")


def _fields_text(exc: ApplicationError) -> str:
    return " ".join(str(text) for problems in exc.fields.values() for text in problems).strip()
