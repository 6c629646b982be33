"""Order numbers come from a PostgreSQL sequence: no lock, no contention between concurrent orders.

Order numbers need not be gapless (invoice numbers must, and get a locked series in invoicing). On
SQLite, where writes are serialised anyway, the next number is the highest plus one.
"""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS orders_order_number_seq START WITH 1001", params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS orders_order_number_seq", params=None)


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_orders")]
    operations = [migrations.RunPython(forward, backward)]
