"""Default pick-release delays per channel: shops wait out the cancellation window, B2B does not."""

from django.db import migrations

DELAYS = {"webshop": 30, "marketplace": 30, "manual": 30, "api": 30, "b2b_portal": 0}


def seed(apps, schema_editor):
    ReleaseDelay = apps.get_model("fulfilment", "ReleaseDelay")
    Warehouse = apps.get_model("fulfilment", "Warehouse")
    for channel, minutes in DELAYS.items():
        ReleaseDelay.objects.get_or_create(channel=channel, defaults={"minutes": minutes})
    Warehouse.objects.get_or_create(code="main", defaults={"name": "Main warehouse", "is_default": True})


class Migration(migrations.Migration):
    dependencies = [("fulfilment", "0002_stock_move_append_only")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
