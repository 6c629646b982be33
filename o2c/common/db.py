"""Database-level guarantees that migrations install, for PostgreSQL and SQLite alike."""

from django.db import migrations

# Every table migrations make append-only (the test suite needs the list on SQLite, see tests/conftest.py).
APPEND_ONLY_TABLES = ["common_auditentry", "fulfilment_stockmove"]


def sqlite_append_only_statements(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END;",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END;",
    ]


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
    sqlite_forward = sqlite_append_only_statements(table)
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


def bulk_insert(model, columns: list[str], rows: list[tuple], *, returning: str | None = None) -> list[tuple]:
    """INSERT many rows in one statement without building model instances (hot batch paths).

    `columns` are database column names; JSON values must be passed already serialised. On
    PostgreSQL this is psycopg2's execute_values (one statement, optionally RETURNING); elsewhere
    executemany. Use the ORM everywhere else: this exists for the pick-release sweep's thousands
    of rows a second.
    """
    if not rows:
        return []
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg2.extras import execute_values

            sql = f"INSERT INTO {table} ({names}) VALUES %s"
            if returning:
                sql += f" RETURNING {returning}"
            return execute_values(cursor.cursor, sql, rows, page_size=len(rows), fetch=bool(returning)) or []
        placeholders = ", ".join(["%s"] * len(columns))
        if returning:
            results = []
            for row in rows:
                cursor.execute(f"INSERT INTO {table} ({names}) VALUES ({placeholders}) RETURNING {returning}", row)
                results.append(cursor.fetchone())
            return results
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows)
        return []
