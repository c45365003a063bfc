"""A tenant may require a second factor of its Admins (off by default)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_audit_append_only_function")]
    operations = [
        migrations.AddField(
            model_name="tenant",
            name="require_admin_two_step",
            field=models.BooleanField(default=False),
        ),
    ]
