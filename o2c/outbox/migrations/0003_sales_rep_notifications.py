"""Sales reps hear by e-mail when one of their orders is held or cancelled (a subscriber like any other:
an administrator can change its event types or pause it on the Integrations page)."""

import secrets

from django.db import migrations

EVENTS = ["order.credit_hold", "order.cancelled", "order.hold_added"]


def create(apps, schema_editor):
    Subscription = apps.get_model("outbox", "WebhookSubscription")
    if not Subscription.objects.filter(kind="sales_rep_email").exists():
        Subscription.objects.create(name="Sales rep e-mail", kind="sales_rep_email", event_types=EVENTS,
                                    secret=secrets.token_urlsafe(32))


class Migration(migrations.Migration):
    dependencies = [("outbox", "0002_deliveries")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
