"""URLs of the audit API."""

from __future__ import annotations

from django.urls import path

from audit.api import AuditEventListApi, AuditVerifyApi

urlpatterns = [
    path("audit/events", AuditEventListApi.as_view(), name="audit-events"),
    path("audit/verify", AuditVerifyApi.as_view(), name="audit-verify"),
]
