"""URLs served on a tenant's host (or the API host with an X-Tenant header)."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import AuthMeApi, AuthTokenApi
from accounts.views import TenantLoginView, TenantLogoutView
from accounts.views_two_step import login_code_page
from hrms import health, openapi  # noqa: F401  # openapi: its schema extensions register on import

handler400 = "core.errors.json_400"
handler403 = "core.errors.json_403"
handler404 = "core.errors.json_404"
handler500 = "core.errors.json_500"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/auth/token", AuthTokenApi.as_view(), name="auth-token"),
    path("api/auth/me", AuthMeApi.as_view(), name="auth-me"),
    # Most requests first: Django tries these in order, and every include that does not match costs a miss.
    path("api/", include("timesheets.urls")),
    path("api/", include("intelligence.urls")),
    path("api/", include("jobs.urls")),
    path("api/", include("audit.urls")),
    path("api/", include("jira_sync.urls")),
    path("api/", include("worktime.urls")),
    path("api/", include("accounts.urls")),
    path("api/", include("notifications.urls")),
    path("api/", include("reports.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Split: the Swagger UI's start-up script is served as a file (`?script`), so the page needs no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
    path("login", TenantLoginView.as_view(), name="login"),
    path("login/code", login_code_page, name="login-code"),
    path("logout", TenantLogoutView.as_view(), name="logout"),
    path("", include("accounts.urls_ui")),
    path("", include("timesheets.urls_ui")),
    path("", include("intelligence.urls_ui")),
    path("", include("jira_sync.urls_ui")),
    path("", include("audit.urls_ui")),
    path("", include("worktime.urls_ui")),
    path("", include("reports.urls_ui")),
]
