"""URLs of the timesheet pages of the web UI (the API's are in timesheets/urls.py)."""

from __future__ import annotations

from django.urls import path

from timesheets import views

urlpatterns = [
    path("suggestions", views.suggestion_review, name="suggestions"),
    path("suggestions/decide", views.suggestion_decide, name="suggestions-decide"),
    path("timesheets", views.timesheet_grid, name="timesheets"),
    path("my-week", views.my_week, name="my-week"),
    path("employees", views.employee_index, name="employees"),
    path("employees/new", views.employee_new, name="employee-new"),
    path("employees/invite", views.employee_invite_all, name="employees-invite-page"),
    path("employees/<uuid:employee_id>/edit", views.employee_edit, name="employee-edit"),
    path("projects", views.project_index, name="projects"),
    path("projects/new", views.project_new, name="project-new"),
    path("projects/<uuid:project_id>/edit", views.project_edit, name="project-edit"),
]
