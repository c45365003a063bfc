"""Employee.manager: the team a Manager sees; and the Manager role's group in every tenant schema."""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def manager_group_create(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.get_or_create(name="Manager")


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("timesheets", "0005_fk_indexes_covered_by_composites"),
    ]

    operations = [
        migrations.AddField(
            model_name="employee",
            name="manager",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="reports",
                to="timesheets.employee",
            ),
        ),
        migrations.RunPython(manager_group_create, migrations.RunPython.noop),
    ]
