"""URLs of the intelligence API."""

from __future__ import annotations

from django.urls import path

from intelligence.api import GenerateApi, ModelStatusApi, ModelTrainApi

urlpatterns = [
    path("timesheet-intelligence/generate", GenerateApi.as_view(), name="generate"),
    path("intelligence/train", ModelTrainApi.as_view(), name="model-train"),
    path("intelligence/model", ModelStatusApi.as_view(), name="model-status"),
]
