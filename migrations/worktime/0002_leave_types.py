"""The leave types every tenant starts with; a tenant adds its own beside them."""

from __future__ import annotations

from typing import Any

from django.db import migrations

DEFAULT_TYPES = [
    # code, name, paid, requires approval, uses the yearly entitlement
    ("vacation", "Vacation", True, True, True),
    ("sick", "Sick leave", True, False, False),
    ("parental", "Parental leave", True, True, False),
    ("unpaid", "Unpaid leave", False, True, False),
    ("training", "Training", True, True, False),
]


def add_types(apps: Any, schema_editor: Any) -> None:
    leave_type = apps.get_model("worktime", "LeaveType")
    for code, name, paid, approval, entitlement in DEFAULT_TYPES:
        leave_type.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "paid": paid,
                "requires_approval": approval,
                "uses_entitlement": entitlement,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("worktime", "0001_initial")]

    operations = [migrations.RunPython(add_types, migrations.RunPython.noop)]
