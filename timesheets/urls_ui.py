"""URLs of the timesheet pages of the web UI (the API's are in timesheets/urls.py)."""

from __future__ import annotations

from django.urls import path

from timesheets import views, views_lifecycle, views_review

urlpatterns = [
    path("suggestions", views_review.suggestion_review, name="suggestions"),
    path("suggestions/decide", views_review.suggestion_decide, name="suggestions-decide"),
    path("suggestions/accept-week", views_review.suggestion_accept_week, name="suggestions-accept-week"),
    path("suggestions/accept-confident", views_review.suggestion_accept_confident, name="suggestions-accept-confident"),
    path("suggestions/batches/<uuid:batch_id>/undo", views_review.suggestion_batch_undo, name="suggestions-batch-undo"),
    path("employees/options", views_review.employee_options, name="employee-options"),
    path("timesheets", views.timesheet_grid, name="timesheets"),
    path("my-week", views.my_week, name="my-week"),
    path("timesheets/day", views_lifecycle.timesheet_day_save, name="timesheet-day"),
    path("timesheets/submit", views_lifecycle.timesheet_week_submit, name="timesheet-submit"),
    path("timesheets/weeks/<uuid:week_id>/decide", views_lifecycle.timesheet_week_decide, name="timesheet-decide"),
    path("timesheets/weeks/<uuid:week_id>/reopen", views_lifecycle.timesheet_week_reopen, name="timesheet-reopen"),
    path("weeks", views_lifecycle.weeks_queue, name="weeks"),
    path("weeks/approve", views_lifecycle.weeks_bulk_approve, name="weeks-approve"),
    path("reminders", views_lifecycle.reminders_page, name="reminders"),
    path("unallocated", views_lifecycle.unallocated_days, name="unallocated"),
    path("pay-periods", views_lifecycle.pay_periods, name="pay-periods"),
    path("pay-periods/close", views_lifecycle.pay_period_close_view, name="pay-period-close"),
    path("pay-periods/<uuid:period_id>/reopen", views_lifecycle.pay_period_reopen_view, name="pay-period-reopen"),
    path("employees", views.employee_index, name="employees"),
    path("employees/new", views.employee_new, name="employee-new"),
    path("employees/<uuid:employee_id>/reveal", views.employee_reveal, name="employee-reveal"),
    path("employees/invite", views.employee_invite_all, name="employees-invite-page"),
    path("employees/<uuid:employee_id>/edit", views.employee_edit, name="employee-edit"),
    path("projects", views.project_index, name="projects"),
    path("projects/new", views.project_new, name="project-new"),
    path("projects/<uuid:project_id>/edit", views.project_edit, name="project-edit"),
]
