"""Signals timesheets sends to the apps above it, which may not be imported from here (dependency inversion).

`attendance_imported` is sent once attendance rows are committed, with the tenant's `schema`, the employees
(`employee_ids`, a sorted list of UUID strings) and the dates the rows cover (`date_from`, `date_to`).
Receivers run after the commit and should only enqueue work for that schema (they cannot undo the import).
"""

from __future__ import annotations

from django.dispatch import Signal

attendance_imported = Signal()
