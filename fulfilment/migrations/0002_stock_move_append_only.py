from django.db import migrations

from o2c.common.db import append_only


class Migration(migrations.Migration):
    dependencies = [("fulfilment", "0001_initial")]
    operations = [append_only("fulfilment_stockmove")]
