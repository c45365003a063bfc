"""URLs of the jobs API."""

from __future__ import annotations

from django.urls import path

from jobs.api import JobDetailApi

urlpatterns = [
    path("jobs/<str:job_id>", JobDetailApi.as_view(), name="job-detail"),
]
