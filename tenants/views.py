"""Session login and logout pages of a tenant's web UI."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.auth_services import auth_login_record


class TenantLoginView(LoginView):
    template_name = "tenants/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        auth_login_record(user=form.get_user())
        return response


class TenantLogoutView(LogoutView):
    next_page = "/login"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/home.html", {"tenant": request.tenant})  # type: ignore[attr-defined]
