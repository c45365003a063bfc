"""Writes to the timesheet records; the only code that writes the timesheets tables, bulk paths included.

- `records`: employees, projects, attendance, allocation imports and work patterns (validated, upserted).
- `review`: accepting and rejecting suggestions.
- `batches`: accepting every confident suggestion of a filter in one action, and undoing it.
- `bulk`: COPY into suggestions, allocations and unallocated days (generation, the demo company).
- `pending`: the one function that forgets the cached pending-suggestion pages.
"""

from timesheets.services.batches import (
    ConfidentCriteria,
    ConfidentSummary,
    UndoResult,
    acceptance_batch_get,
    acceptance_batch_undo,
    suggestions_accept_confident,
    suggestions_confident_summary,
)
from timesheets.services.bulk import (
    ALLOCATION_COLUMNS,
    SUGGESTION_COLUMNS,
    UNALLOCATED_COLUMNS,
    GeneratedRows,
    GeneratedWritten,
    allocations_copy,
    suggestions_copy,
    suggestions_generated_replace,
    unallocated_days_copy,
)
from timesheets.services.logins import EmployeesInvited, employees_invite
from timesheets.services.pending import SUGGESTIONS_CACHE_NAMESPACE, suggestions_cache_invalidate
from timesheets.services.records import (
    MAX_ALLOCATION_ROWS,
    MAX_ATTENDANCE_ROWS,
    MAX_DAY_HOURS,
    AllocationRow,
    AttendanceRow,
    EmployeeChanges,
    ProjectChanges,
    RowErrors,
    UpsertResult,
    allocation_rows_check,
    allocations_upsert,
    attendance_rows_check,
    attendance_upsert,
    employee_create,
    employee_delete,
    employee_pii_reveal,
    employee_update,
    project_create,
    project_delete,
    project_update,
    work_patterns_recompute,
)
from timesheets.services.review import (
    MAX_DECISION_IDS,
    DecisionItem,
    DecisionOutcome,
    DecisionResult,
    suggestions_accept,
    suggestions_expire,
    suggestions_reject,
)

__all__ = [
    "ALLOCATION_COLUMNS",
    "MAX_ALLOCATION_ROWS",
    "MAX_ATTENDANCE_ROWS",
    "MAX_DAY_HOURS",
    "MAX_DECISION_IDS",
    "SUGGESTIONS_CACHE_NAMESPACE",
    "SUGGESTION_COLUMNS",
    "UNALLOCATED_COLUMNS",
    "AllocationRow",
    "AttendanceRow",
    "ConfidentCriteria",
    "ConfidentSummary",
    "DecisionItem",
    "DecisionOutcome",
    "DecisionResult",
    "EmployeeChanges",
    "EmployeesInvited",
    "GeneratedRows",
    "GeneratedWritten",
    "ProjectChanges",
    "RowErrors",
    "UndoResult",
    "UpsertResult",
    "acceptance_batch_get",
    "acceptance_batch_undo",
    "allocation_rows_check",
    "allocations_copy",
    "allocations_upsert",
    "attendance_rows_check",
    "attendance_upsert",
    "employee_create",
    "employee_delete",
    "employee_pii_reveal",
    "employee_update",
    "employees_invite",
    "project_create",
    "project_delete",
    "project_update",
    "suggestions_accept",
    "suggestions_accept_confident",
    "suggestions_cache_invalidate",
    "suggestions_confident_summary",
    "suggestions_copy",
    "suggestions_expire",
    "suggestions_generated_replace",
    "suggestions_reject",
    "unallocated_days_copy",
    "work_patterns_recompute",
]
