"""The helpers every UI view shares: role gate, htmx detection, errors shown on forms, safe redirects, page render."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from core.errors import ApplicationError
from core.roles import (
    REVIEWER_ROLES,
    ROLE_ADMIN,
    STAFF_ROLES,
    has_any_role,
    is_admin_user,
    is_reviewer_user,
    is_staff_user,
)

View = Callable[..., HttpResponseBase]


def roles_required(roles: frozenset[str], label: str) -> Callable[[View], View]:
    """Log in first; then one of these roles. Anyone else is sent to the dashboard with a message, never a 403
    page. The roles stay on the view (`hrms_roles`) for the role-access test."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not has_any_role(request.user, roles):
                messages.error(request, f"That page needs the {label} role.")
                return redirect("home")
            return view(request, *args, **kwargs)

        guarded = login_required(wrapper)
        guarded.hrms_roles = roles  # type: ignore[attr-defined]
        return guarded

    return decorate


staff_required = roles_required(STAFF_ROLES, "HR or Admin")
admin_required = roles_required(frozenset({ROLE_ADMIN}), "Admin")
reviewer_required = roles_required(REVIEWER_ROLES, "HR, Admin or Manager")


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request (which wants a fragment); a plain request (JavaScript off) gets the whole page."""
    return request.headers.get("HX-Request") == "true"


def error_to_form(request: HttpRequest, form: forms.Form, error: ApplicationError) -> None:
    """Show a service's error as a message, and its field errors beside the fields they name."""
    messages.error(request, error.message)
    for name, problems in error.fields.items():
        texts = problems if isinstance(problems, list) else [str(problems)]
        form.add_error(name if name in form.fields else None, [str(text) for text in texts])


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` URL of a form when it is a path of this site, else the fallback.

    Only a path from the root: anything else given to `redirect` would be looked up as a URL pattern's name.
    """
    target = str(request.POST.get("next") or request.GET.get("next") or "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    """Render a UI page with what the layout needs: the navigation depends on the role."""
    user = request.user
    roles = {"is_staff": is_staff_user(user), "is_admin": is_admin_user(user), "is_reviewer": is_reviewer_user(user)}
    return render(request, template, {**roles, **(context or {})}, status=status)


class DateInput(forms.DateInput):
    """A date input the browser offers a picker for, written as ISO dates."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")
