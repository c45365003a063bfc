"""URLs served without a tenant: the base domain, the API host without X-Tenant, probes."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.metrics import metrics_view
from hrms import health
from hrms.operator_console import console

handler400 = "core.errors.json_400"
handler403 = "core.errors.json_403"
handler404 = "core.errors.json_404"
handler500 = "core.errors.json_500"


def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "service": "HRMS Timesheet Intelligence",
            "message": "Use your tenant's host (<slug>.<base domain>) or send X-Tenant: <slug>.",
            "docs": "/api/docs/",
        }
    )


urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="hrms.urls"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", console.urls),
    path("", index, name="index"),
]
