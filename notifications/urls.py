"""URLs of the e-mail record API."""

from __future__ import annotations

from django.urls import path

from notifications.api import EmailListApi

urlpatterns = [path("emails", EmailListApi.as_view(), name="emails")]
