"""Pages for people and access: users and invitations (HR, Admin), accepting an invitation, password reset and
change, and the e-mail record."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from accounts.api_settings import GRANULARITY_CHOICES, TIME_ZONES
from accounts.links import tenant_link_base
from accounts.selectors import invitation_get, invitation_list, user_get, user_list
from accounts.services import (
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    password_change,
    password_reset_confirm,
    password_reset_request,
    user_deactivate,
    user_reactivate,
    user_role_set,
)
from accounts.services.invitations import invitation_for_token
from accounts.services.passwords import password_reset_user
from core.errors import ApplicationError
from core.roles import ROLES, is_admin_user
from core.ui import admin_required, error_to_form, render_page, staff_required
from notifications.models import EmailStatus
from notifications.selectors import email_list
from tenants.locales import LOCALE_CHOICES
from tenants.settings_service import (
    ML_RATE_LIMIT_MAX,
    TenantSettingsChanges,
    tenant_settings_of,
    tenant_settings_update,
)

LIST_PAGE_SIZE = 50


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254, label="E-mail")
    role = forms.ChoiceField(choices=[(role, role) for role in ROLES])


def _role_choices(user: Any) -> list[str]:
    return list(ROLES) if is_admin_user(user) else [role for role in ROLES if role != "Admin"]


@staff_required
@require_http_methods(["GET", "POST"])
def user_index(request: HttpRequest) -> HttpResponse:
    """Users with their roles, the invite form, and open invitations."""
    form = InviteForm(request.POST or None)
    form.fields["role"].choices = [(role, role) for role in _role_choices(request.user)]  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invitation_create(actor=request.user, link_base=tenant_link_base(request), **form.cleaned_data)
        except ApplicationError as exc:
            error_to_form(request, form, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("users")
    users = Paginator(user_list(), LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page_obj": users,
        "invitations": list(invitation_list(status="pending")[:100]) + list(invitation_list(status="expired")[:20]),
        "roles": _role_choices(request.user),
        "page_query": "",
    }
    return render_page(request, "accounts/users.html", context)


def _user_action(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    try:
        user = user_get(user_id=user_id)
        if action == "deactivate":
            user_deactivate(actor=request.user, user=user)
            messages.success(request, f"{user.username} can no longer sign in.")
        elif action == "reactivate":
            user_reactivate(actor=request.user, user=user)
            messages.success(request, f"{user.username} can sign in again.")
        else:
            role = str(request.POST.get("role", ""))
            user_role_set(actor=request.user, user=user, role=role)
            messages.success(request, f"{user.username} now has the {role} role.")
    except ApplicationError as exc:
        messages.error(request, exc.message if not exc.fields else f"{exc.message} {_fields_text(exc)}")
    return redirect("users")


def _fields_text(exc: ApplicationError) -> str:
    return " ".join(
        str(text)
        for problems in exc.fields.values()
        for text in (problems if isinstance(problems, list) else [problems])
    )


@staff_required
@require_POST
def user_deactivate_page(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_action(request, user_id, "deactivate")


@staff_required
@require_POST
def user_reactivate_page(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_action(request, user_id, "reactivate")


@staff_required
@require_POST
def user_role_page(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_action(request, user_id, "role")


@staff_required
@require_POST
def invitation_resend_page(request: HttpRequest, invitation_id: str) -> HttpResponse:
    try:
        invitation = invitation_resend(
            actor=request.user,
            invitation=invitation_get(invitation_id=invitation_id),
            link_base=tenant_link_base(request),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation sent again to {invitation.email}.")
    return redirect("users")


@staff_required
@require_POST
def invitation_revoke_page(request: HttpRequest, invitation_id: str) -> HttpResponse:
    try:
        invitation = invitation_revoke(actor=request.user, invitation=invitation_get(invitation_id=invitation_id))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The invitation of {invitation.email} no longer works.")
    return redirect("users")


class NewPasswordForm(forms.Form):
    password = forms.CharField(
        label="New password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    confirm = forms.CharField(
        label="New password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("confirm") and data["password"] != data["confirm"]:
            self.add_error("confirm", "The two passwords differ.")
        return data


@require_http_methods(["GET", "POST"])
def invitation_accept_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link of an invitation: choose a password, and the login exists."""
    invitation = invitation_for_token(token=token)
    if invitation is None:
        return render_page(request, "accounts/link_invalid.html", {"what": "invitation"}, status=400)
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(token=token, password=form.cleaned_data["password"])
        except ApplicationError as exc:
            error_to_form(request, form, exc)
        else:
            messages.success(request, f"Welcome! Your login is {user.username}: sign in with your new password.")
            return redirect("login")
    return render_page(request, "accounts/accept.html", {"form": form, "invitation": invitation})


class ResetRequestForm(forms.Form):
    email = forms.EmailField(max_length=254, label="E-mail")


@require_http_methods(["GET", "POST"])
def password_reset_page(request: HttpRequest) -> HttpResponse:
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password_reset_request(email=form.cleaned_data["email"], link_base=tenant_link_base(request))
        messages.info(request, "If a login has this address, a link to reset its password is on its way.")
        return redirect("login")
    return render_page(request, "accounts/password_reset.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_reset_confirm_page(request: HttpRequest, uid: str, token: str) -> HttpResponse:
    if password_reset_user(uid=uid, token=token) is None:
        return render_page(request, "accounts/link_invalid.html", {"what": "reset"}, status=400)
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_reset_confirm(uid=uid, token=token, password=form.cleaned_data["password"])
        except ApplicationError as exc:
            error_to_form(request, form, exc)
        else:
            messages.success(request, "Your password is changed: sign in with it.")
            return redirect("login")
    return render_page(request, "accounts/password_new.html", {"form": form})


class PasswordChangeForm(NewPasswordForm):
    old_password = forms.CharField(
        label="Current password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    field_order = ["old_password", "password", "confirm"]


@login_required
@require_http_methods(["GET", "POST"])
def password_change_page(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = password_change(
                user=cast(User, request.user),
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["password"],
            )
        except ApplicationError as exc:
            if "new_password" in exc.fields:
                exc.fields["password"] = exc.fields.pop("new_password")
            error_to_form(request, form, exc)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, "Your password is changed.")
            return redirect("home")
    return render_page(request, "accounts/password_change.html", {"form": form})


@staff_required
def email_index(request: HttpRequest) -> HttpResponse:
    """Messages sent and to be sent; those the SMTP server never took are marked failed, with the error."""
    status = request.GET.get("status") or None
    if status not in (None, *EmailStatus.values):
        status = None
    page = Paginator(email_list(status=status), LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render_page(
        request,
        "accounts/emails.html",
        {
            "page_obj": page,
            "status": status or "",
            "statuses": EmailStatus.choices,
            "page_query": f"status={status or ''}",
        },
    )


class TenantSettingsForm(forms.Form):
    name = forms.CharField(max_length=200, label="Company name")
    timezone = forms.ChoiceField(choices=[(zone, zone) for zone in TIME_ZONES], label="Time zone")
    locale = forms.ChoiceField(
        choices=LOCALE_CHOICES,
        label="Dates and numbers",
        help_text="How every page writes dates and hours. Hours boxes take a comma or a point either way.",
    )
    work_week = forms.TypedMultipleChoiceField(
        choices=[
            (0, "Monday"),
            (1, "Tuesday"),
            (2, "Wednesday"),
            (3, "Thursday"),
            (4, "Friday"),
            (5, "Saturday"),
            (6, "Sunday"),
        ],
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        label="Working days",
    )
    suggestion_granularity = forms.TypedChoiceField(
        choices=[(value, f"{value} h") for value in GRANULARITY_CHOICES],
        coerce=Decimal,
        label="Suggestion granularity",
        help_text="Suggested hours are multiples of this.",
    )
    auto_accept_threshold = forms.DecimalField(
        min_value=Decimal(0),
        max_value=Decimal(1),
        max_digits=3,
        decimal_places=2,
        label="Auto-accept threshold",
        help_text="Suggestions at or above this confidence (0 to 1) may be accepted without review.",
    )
    ml_rate_limit_per_minute = forms.IntegerField(
        min_value=1, max_value=ML_RATE_LIMIT_MAX, label="ML requests per minute", help_text="The tenant's budget."
    )
    require_admin_two_step = forms.BooleanField(
        required=False,
        label="Admins must use two-step sign-in",
        help_text="An Admin without an authenticator app is sent to set one up before anything else.",
    )


@admin_required
@require_http_methods(["GET", "POST"])
def tenant_settings_page(request: HttpRequest) -> HttpResponse:
    current = asdict(tenant_settings_of(connection.tenant))  # type: ignore[attr-defined]
    form = TenantSettingsForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.fields}
        try:
            tenant_settings_update(actor=request.user, changes=cast(TenantSettingsChanges, changes))
        except ApplicationError as exc:
            error_to_form(request, form, exc)
        else:
            messages.success(request, "Settings saved. Every part of the product uses them within seconds.")
            return redirect("tenant-settings-page")
    return render_page(request, "accounts/settings.html", {"form": form})
