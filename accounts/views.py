"""Session login and logout pages of a tenant's web UI."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse

from accounts.services import auth_login_record


class TenantLoginView(LoginView):
    template_name = "accounts/login.html"
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
