"""Session login and logout pages of a tenant's web UI, and the access and error helpers every UI view shares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from hrms.errors import ApplicationError
from tenants.auth_services import auth_login_record
from tenants.roles import is_staff_user

View = Callable[..., HttpResponseBase]


class TenantLoginView(LoginView):
    template_name = "tenants/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        auth_login_record(user=form.get_user())
        messages.success(self.request, f"Signed in as {form.get_user().get_username()}.")
        return response


class TenantLogoutView(LogoutView):
    next_page = "/login"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have been signed out.")
        return response


def staff_required(view: View) -> View:
    """Log in first; then HR or Admin only. Anyone else is sent to the dashboard with a message, never a 403 page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_staff_user(request.user):
            messages.error(request, "That page needs the HR or Admin role.")
            return redirect("home")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


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
    """The `next` URL of a form when it points back into this site, else the fallback."""
    target = str(request.POST.get("next") or request.GET.get("next") or "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    """Render a UI page with what the layout needs: the navigation depends on the role."""
    return render(request, template, {"is_staff": is_staff_user(request.user), **(context or {})}, status=status)
