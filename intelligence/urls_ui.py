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
    path("model/train", views.model_train, name="model-train"),
    path("model/train/<uuid:job_id>", views.model_train_job, name="model-train-job"),
    path("model/train/<uuid:job_id>/progress", views.model_train_progress, name="model-train-progress"),
]
