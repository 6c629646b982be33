"""Database-level guarantees that migrations install, for PostgreSQL and SQLite alike."""

from django.db import migrations


def append_only(table: str) -> migrations.RunPython:
    """A migration operation: the database refuses UPDATE and DELETE on `table`."""
    function = f"{table}_append_only"
    postgres_forward = f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table} is append-only: %% refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {function} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}();
"""
    postgres_backward = f"DROP TRIGGER IF EXISTS {function} ON {table}; DROP FUNCTION IF EXISTS {function}();"
    sqlite_forward = [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END;",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END;",
    ]
    sqlite_backward = [f"DROP TRIGGER IF EXISTS {table}_no_update;", f"DROP TRIGGER IF EXISTS {table}_no_delete;"]

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(postgres_forward.replace("%%", "%"), params=None)
        elif schema_editor.connection.vendor == "sqlite":
            for statement in sqlite_forward:
                schema_editor.execute(statement)

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(postgres_backward, params=None)
        elif schema_editor.connection.vendor == "sqlite":
            for statement in sqlite_backward:
                schema_editor.execute(statement)

    return migrations.RunPython(forward, backward)
