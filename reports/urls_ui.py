"""URLs of the report pages of the web UI (the API's are in reports/urls.py)."""

from __future__ import annotations

from django.urls import path

from reports import views

urlpatterns = [path("reports", views.report_index, name="reports")]
