"""URLs of the intelligence API."""

from __future__ import annotations

from django.urls import path

from intelligence.api import GenerateApi

urlpatterns = [
    path("timesheet-intelligence/generate", GenerateApi.as_view(), name="generate"),
]
