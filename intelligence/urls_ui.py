"""URLs of the intelligence pages of the web UI: the dashboard (the site's home), generation, model."""

from __future__ import annotations

from django.urls import path

from intelligence import views

urlpatterns = [
    path("", views.dashboard, name="home"),
    path("generate", views.generate, name="generate"),
    path("generate/<uuid:job_id>", views.generate_job, name="generate-job"),
    path("generate/<uuid:job_id>/progress", views.generate_job_progress, name="generate-job-progress"),
    path("model", views.model, name="model"),
]
