"""A tenant's locale: how its pages write dates and numbers."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_require_admin_two_step")]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="locale",
            field=models.CharField(
                choices=[
                    ("en-GB", "English (United Kingdom): 5 Dec 2026, 1.5 h"),
                    ("en-US", "English (United States): 12/05/2026, 1.5 h"),
                    ("de-DE", "German (Germany): 05.12.2026, 1,5 h"),
                    ("fr-FR", "French (France): 05/12/2026, 1,5 h"),
                    ("nl-NL", "Dutch (Netherlands): 05-12-2026, 1,5 h"),
                    ("es-ES", "Spanish (Spain): 05/12/2026, 1,5 h"),
                ],
                default="en-GB",
                max_length=5,
            ),
        ),
    ]
