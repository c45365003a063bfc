"""Session login and logout pages of a tenant's web UI."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse

from accounts.protection import (
    BUSY,
    LoginRateLimited,
    hash_slot_release,
    hash_slot_take,
    login_begin,
    login_succeeded,
)
from accounts.selectors import two_step_enabled
from accounts.services import auth_login_record
from accounts.services.sso import sso_password_login_refusal
from accounts.views_sso import login_page_context
from accounts.views_two_step import two_step_challenge


class TenantLoginView(LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Past the failure limits of the address or the account: refused before the password is hashed.
        username = str(request.POST.get("username", ""))
        refusal = login_begin(request, username)
        slot = hash_slot_take() if refusal is None else None
        if refusal is None and slot is None:
            login_succeeded(request, username)  # not tried: it does not count against the account
            refusal = LoginRateLimited(BUSY, retry_after=1)
        if refusal is None and slot is not None:
            try:
                return super().post(request, *args, **kwargs)
            finally:
                passed = request.user.is_authenticated or getattr(request, "two_step_pending", False)
                hash_slot_release(slot, failed=not passed)
        assert refusal is not None
        form = self.get_form()
        response = self.render_to_response(self.get_context_data(form=form, refusal=refusal.message))
        response.status_code = 429
        response["Retry-After"] = str(refusal.retry_after)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), **login_page_context(self.request)}

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        # Single sign-on required: the right password still logs in only an Admin.
        sso_refusal = sso_password_login_refusal(user=form.get_user())
        if sso_refusal is not None:
            return self.render_to_response(self.get_context_data(form=form, refusal=sso_refusal), status=403)
        login_succeeded(self.request, str(self.request.POST.get("username", "")))
        if two_step_enabled(user=form.get_user()):  # not logged in yet: the code page follows
            return two_step_challenge(self.request, form.get_user(), self.get_success_url())
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
