"""Session login and logout pages of a tenant's web UI."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class TenantLoginView(LoginView):
    template_name = "tenants/login.html"
    redirect_authenticated_user = True


class TenantLogoutView(LogoutView):
    next_page = "/login"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/home.html", {"tenant": request.tenant})  # type: ignore[attr-defined]
