"""The database itself refuses to change or delete audit entries."""

from django.db import migrations

POSTGRES_FORWARD = """
CREATE OR REPLACE FUNCTION common_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The audit trail is append-only: % refused on common_auditentry', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER common_auditentry_append_only
    BEFORE UPDATE OR DELETE ON common_auditentry
    FOR EACH ROW EXECUTE FUNCTION common_auditentry_append_only();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS common_auditentry_append_only ON common_auditentry;
DROP FUNCTION IF EXISTS common_auditentry_append_only();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER common_auditentry_no_update BEFORE UPDATE ON common_auditentry
       BEGIN SELECT RAISE(ABORT, 'The audit trail is append-only: UPDATE refused on common_auditentry'); END;""",
    """CREATE TRIGGER common_auditentry_no_delete BEFORE DELETE ON common_auditentry
       BEGIN SELECT RAISE(ABORT, 'The audit trail is append-only: DELETE refused on common_auditentry'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS common_auditentry_no_update;",
    "DROP TRIGGER IF EXISTS common_auditentry_no_delete;",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("common", "0002_roles")]
    operations = [migrations.RunPython(forward, backward)]
