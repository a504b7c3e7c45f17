"""Version 1 of every model's prices: the figures the catalogue held until now (seeded, or as an
admin last edited them)."""

from typing import Any

from django.db import migrations

from studio.catalogue.seed import EPOCH


def copy_prices(apps: Any, schema_editor: Any) -> None:
    GeminiModel = apps.get_model("catalogue", "GeminiModel")
    PriceVersion = apps.get_model("billing", "PriceVersion")
    for model in GeminiModel.objects.all():
        PriceVersion.objects.create(
            model=model,
            version=1,
            effective_from=EPOCH,
            input_per_million=model.price_input_per_million,
            text_output_per_million=model.price_text_output_per_million,
            image_output_per_million=model.price_image_output_per_million,
            per_thousand_queries=model.price_per_search_query * 1000,
            batch_discount=model.batch_discount,
            note="From the model catalogue",
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_ledger_prices_quotas"), ("catalogue", "0002_seed_models")]
    operations = [migrations.RunPython(copy_prices, migrations.RunPython.noop)]
