"""What working time does when the apps below it announce a change (connected in WorktimeConfig.ready)."""

from __future__ import annotations

from datetime import date
from typing import Any

from worktime.tasks import compliance_check_imported_task


def attendance_imported_check(
    *, schema: str, employee_ids: list[str], date_from: date, date_to: date, **_: Any
) -> None:
    """Check the imported employees and days against the rules, in the background, in the importing tenant."""
    compliance_check_imported_task.apply_async(
        args=(employee_ids, date_from.isoformat(), date_to.isoformat()), headers={"_schema_name": schema}
    )
