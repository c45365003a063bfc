"""URLs of the audit pages of the web UI (the API's are in audit/urls.py)."""

from __future__ import annotations

from django.urls import path

from audit import views

urlpatterns = [
    path("audit", views.audit_index, name="audit"),
    path("audit/verify", views.audit_verify_view, name="audit-verify"),
]
