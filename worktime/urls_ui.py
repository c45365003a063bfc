"""URLs of the working-time pages of the web UI (the API's are in worktime/urls.py)."""

from __future__ import annotations

from django.urls import path

from worktime import views, views_attention, views_contracts

urlpatterns = [
    path("attention", views_attention.attention_index, name="attention"),
    path("leave", views.leave_index, name="leave"),
    path("leave/<uuid:leave_id>/decide", views.leave_decide_view, name="leave-decide-page"),
    path("contracts", views_contracts.contract_index, name="contracts-page"),
    path("compliance", views.compliance_index, name="compliance"),
    path(
        "compliance/<uuid:violation_id>/acknowledge",
        views.violation_acknowledge_view,
        name="compliance-acknowledge-page",
    ),
]
