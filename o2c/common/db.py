"""Database helpers: guarantees that migrations install (PostgreSQL and SQLite alike), bulk
inserts, the transaction that services share (service_atomic), and a cache for reference data."""

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import migrations, transaction
from django.db.models import signals

P = ParamSpec("P")
R = TypeVar("R")

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
    """INSERT many rows in one statement without building model instances (hot paths).

    `columns` are database column names; JSON values must be passed already serialised. One
    multi-row INSERT per 1,000 rows (optionally RETURNING), through Django's cursor so that query
    logging and execute wrappers see it (the bench captures statements that way). Use the ORM
    everywhere else: this exists for the pick-release sweep's thousands of rows a second and for
    the audit entries and events a chain of services writes at its end.
    """
    if not rows:
        return []
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    row_placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    suffix = f" RETURNING {returning}" if returning else ""
    page_size = 1000 if connection.vendor == "postgresql" else max(1, 999 // len(columns))
    results: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), page_size):
            page = rows[start : start + page_size]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([row_placeholder] * len(page))}{suffix}",
                [value for row in page for value in row],
            )
            if returning:
                results.extend(tuple(row) for row in cursor.fetchall())
    return results


# Service transactions ----------------------------------------------------------------------------


class _Chain:
    """What the services of one transaction share: the rows they hold locked, and work to do at its end."""

    __slots__ = ("held", "before_end")

    def __init__(self) -> None:
        self.held: dict[tuple[type, object], object] = {}
        self.before_end: dict[str, tuple[Callable[[list], None], list]] = {}

    def end(self) -> None:
        while self.before_end:
            _, (flush, items) = self.before_end.popitem()
            flush(items)


def _current_chain(using: str | None = None) -> _Chain | None:
    blocks = transaction.get_connection(using).atomic_blocks
    return getattr(blocks[-1], "o2c_chain", None) if blocks else None


@contextmanager
def service_transaction(using: str | None = None) -> Iterator[None]:
    """transaction.atomic for services, with a savepoint only where a caller could catch the error.

    A service called by another service, inside that service's block, shares its transaction
    without a savepoint of its own: an error raised in it goes up through the calling service,
    whose block (a savepoint or the transaction) rolls it all back. The savepoints a chain of
    services used to open cost 2 statements each, 16 per new e-order. A service entered from
    anywhere else (a view, a task, a test, a plain `transaction.atomic()` block that may catch
    its error) opens a savepoint as before. So a service that means to catch another service's
    error calls it inside its own `transaction.atomic()` block.

    The outermost service block of a chain also ends it: work registered with `chain_defer`
    (the audit entries and outbox events of the chain, one INSERT each) runs just before the
    block commits or releases its savepoint, and none of it runs if the block rolls back.
    """
    parent = _current_chain(using)
    block = transaction.Atomic(using, savepoint=parent is None, durable=False)
    block.o2c_chain = parent or _Chain()
    with block:
        yield
        if parent is None:
            block.o2c_chain.end()


def service_atomic(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a service to run in `service_transaction()`."""

    @functools.wraps(func)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        with service_transaction():
            return func(*args, **kwargs)

    return inner


def chain_defer(name: str, flush: Callable[[list], None]) -> list | None:
    """The list to append to for work `flush` does once at the end of the current service chain.

    None outside a service block (or inside a plain atomic block nested in one, which may roll
    back on its own): the caller then does the work at once.
    """
    chain = _current_chain()
    if chain is None:
        return None
    if name not in chain.before_end:
        chain.before_end[name] = (flush, [])
    return chain.before_end[name][1]


def chain_flush(name: str) -> None:
    """Do the deferred work `name` now (a bulk write that must come after the rows already deferred)."""
    chain = _current_chain()
    if chain is not None and name in chain.before_end:
        flush, items = chain.before_end.pop(name)
        flush(items)


def chain_hold(instance):
    """Note that the current service chain holds `instance`'s row locked and keeps `instance` current.

    Later services of the chain get this instance from `chain_held` instead of locking and reading
    the row again (an order is locked and read once per request, not once per transition).
    Everything that changes the row inside the chain must change this instance.
    """
    chain = _current_chain()
    if chain is not None:
        chain.held[(type(instance), instance.pk)] = instance
    return instance


def chain_held(model, pk):
    """The instance of this row the current service chain holds locked (chain_hold), or None."""
    chain = _current_chain()
    return chain.held.get((model, pk)) if chain is not None else None


def chain_release(model, pks) -> None:
    """Forget held rows that were changed behind their instances (a queryset update)."""
    chain = _current_chain()
    if chain is not None:
        for pk in pks:
            chain.held.pop((model, pk), None)


# Reference data ----------------------------------------------------------------------------------


class ReferenceCache:
    """Per-process answers to small queries on rarely changing tables (the company, VAT rates).

    Hot paths (every e-order) read them once per O2C_REFERENCE_CACHE_SECONDS (5 s; 0 turns the
    cache off) instead of once per request. A save or delete of one of `models` in this process
    drops every answer at once; other processes see the change within the 5 s, as API tokens
    (docs/architecture.md, "API"). Keep values read-only: threads share them.
    """

    def __init__(self, *models) -> None:
        self._answers: dict = {}
        for model in models:
            signals.post_save.connect(self.clear, sender=model, weak=False)
            signals.post_delete.connect(self.clear, sender=model, weak=False)

    def get(self, key, load: Callable[[], R]) -> R:
        ttl = getattr(settings, "O2C_REFERENCE_CACHE_SECONDS", 5)
        if not ttl:
            return load()
        now = time.monotonic()
        hit = self._answers.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        self._answers[key] = (now + ttl, value)
        return value

    def clear(self, **kwargs) -> None:
        self._answers = {}
