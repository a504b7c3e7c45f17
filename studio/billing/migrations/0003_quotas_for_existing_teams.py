"""Every team gets a quota row, so the admin lists them all. Teams from before quotas existed keep
no limits (an admin sets them); new teams get the site's defaults."""

from typing import Any

from django.db import migrations


def add_quotas(apps: Any, schema_editor: Any) -> None:
    Team = apps.get_model("accounts", "Team")
    Quota = apps.get_model("billing", "Quota")
    Quota.objects.bulk_create([Quota(team=team) for team in Team.objects.filter(quota__isnull=True)])


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_prices_from_catalogue"), ("accounts", "0004_new_team_quota_defaults")]
    operations = [migrations.RunPython(add_quotas, migrations.RunPython.noop)]
