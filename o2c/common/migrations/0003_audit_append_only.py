"""The database itself refuses to change or delete audit entries."""

from django.db import migrations

from o2c.common.db import append_only


class Migration(migrations.Migration):
    dependencies = [("common", "0002_roles")]
    operations = [append_only("common_auditentry")]
