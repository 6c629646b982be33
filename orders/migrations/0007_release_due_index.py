from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    """The sweep reads due orders in (release_at, id) order straight off this index and stops at its batch."""

    dependencies = [("orders", "0006_release_earliest")]
    operations = [
        migrations.RemoveIndex(model_name="order", name="order_release_due_idx"),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["release_at", "id"], condition=Q(status="awaiting_release"),
                               name="order_release_due_idx"),
        ),
    ]
