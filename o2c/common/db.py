"""Database helpers: guarantees that migrations install (PostgreSQL and SQLite alike), bulk
inserts, the transaction that services share (service_atomic), and a cache for reference data."""

import datetime
import decimal
import functools
import operator
import re
import threading
import time
from asyncio import _get_running_loop
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import psycopg2.extensions
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, migrations, transaction
from django.db.backends.postgresql.psycopg_any import Jsonb
from django.db.models import Model, signals
from django.db.models.base import ModelState
from django.utils import timezone

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


def append_only_after_sqlite_rebuild(table: str) -> migrations.RunPython:
    """A migration operation for after an AlterField on an append-only table: SQLite rebuilt the
    table (new table, copy, drop, rename) and with it dropped its triggers; this puts them back.
    PostgreSQL alters the table in place and keeps them."""

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in sqlite_append_only_statements(table):
                schema_editor.execute(statement)

    return migrations.RunPython(forward, migrations.RunPython.noop)


_this_thread = threading.local()


def default_connection():
    """`connections[DEFAULT_DB_ALIAS]`: this thread's connection, remembered in a plain thread-local.

    Django keeps each thread's connections in asgiref's Local, whose every read asks whether an
    event loop is running by catching a RuntimeError: 1.5 us a lookup on the bench machine, and
    the service chain of one e-order looked some sixty times. Django makes a thread's connection
    once and keeps it for the thread's life (close() closes it, and it reconnects in place), so
    the first answer stays right. Under a running event loop Django's connections are per task,
    not per thread: there it asks Django each time.
    """
    if _get_running_loop() is None:
        try:
            return _this_thread.connection
        except AttributeError:
            conn = _this_thread.connection = connections[DEFAULT_DB_ALIAS]
            return conn
    return connections[DEFAULT_DB_ALIAS]


def _insert_sql(table: str, columns: list[str], row_count: int) -> str:
    """`INSERT INTO table (columns) VALUES (%s, ...), ...` for row_count rows."""
    return _insert_sql_text(default_connection().vendor, table, tuple(columns), row_count)


@functools.lru_cache(maxsize=4096)  # hot paths insert the same few shapes again and again
def _insert_sql_text(vendor: str, table: str, columns: tuple[str, ...], row_count: int) -> str:
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    names = ", ".join(quote(c) for c in columns)
    return f"INSERT INTO {quote(table)} ({names}) VALUES {', '.join([row] * row_count)}"


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
    suffix = f" RETURNING {returning}" if returning else ""
    page_size = 1000 if connection.vendor == "postgresql" else max(1, 999 // len(columns))
    results: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), page_size):
            page = rows[start : start + page_size]
            cursor.execute(
                _insert_sql(model._meta.db_table, columns, len(page)) + suffix,
                [value for row in page for value in row],
            )
            if returning:
                results.extend(tuple(row) for row in cursor.fetchall())
    return results


# Service transactions ----------------------------------------------------------------------------


class _Chain:
    """What the services of one transaction share: the rows they hold locked, and work to do at its end."""

    __slots__ = ("held", "before_end", "statements", "first_statements", "explainers")

    def __init__(self) -> None:
        self.held: dict[tuple[type, object], object] = {}
        self.before_end: dict[str, tuple[Callable[[list], None], list]] = {}
        self.statements: list[tuple[str, list]] = []
        self.first_statements: list[tuple[str, list]] = []
        self.explainers: list[Callable[[IntegrityError], Exception | None]] = []

    def end(self, commit_with: Callable[[list], None] | None = None) -> None:
        while self.before_end:
            _, (flush, items) = self.before_end.popitem()
            flush(items)
        statements = self.first_statements + self.statements
        self.first_statements, self.statements = [], []
        if commit_with is not None:
            commit_with(statements)
        else:
            execute_statements(statements)


def _chain_of(conn) -> _Chain | None:
    """The chain of the service block innermost on this connection (None under a plain atomic block)."""
    blocks = conn.atomic_blocks
    return getattr(blocks[-1], "o2c_chain", None) if blocks else None


def _connection(using: str | None):
    return default_connection() if using is None else transaction.get_connection(using)


def _current_chain(using: str | None = None) -> _Chain | None:
    return _chain_of(_connection(using))


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
    block commits or releases its savepoint, then the statements given to `chain_execute`, all
    in one round trip; none of it runs if the block rolls back. An IntegrityError that leaves
    the block (a unique index refusing a deferred INSERT) is offered, after the rollback, to the
    chain's `chain_explain` functions, which may turn it into the error a user should see.

    When that block is the transaction itself (no atomic block around it), the chain's last
    writes go out with its COMMIT, in one round trip (o2c.common.postgresql's `commit_with`); an
    error in them comes from the commit, which rolls everything back, as above.
    """
    conn = _connection(using)
    if _chain_of(conn) is not None:
        # Called by a service inside its block: share that block. An atomic block without a
        # savepoint would do only one thing here, and this does it: mark the transaction for
        # rollback when an error leaves, so that a caller that catches the error cannot commit
        # half of the work. (Entering and leaving such blocks was 2 % of a new e-order's
        # instructions.)
        try:
            yield
        except BaseException:
            if not conn.closed_in_transaction:
                conn.needs_rollback = True
            raise
        return
    chain = _Chain()
    commit_with = None if conn.in_atomic_block else getattr(conn, "commit_with", None)
    block = transaction.Atomic(using, savepoint=True, durable=False)
    block.o2c_chain = chain
    try:
        with block:
            yield
            chain.end(commit_with)
    except IntegrityError as error:
        for explain in chain.explainers:
            better = explain(error)
            if better is not None:
                raise better from error
        raise


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
        start = len(chain.statements)
        flush(items)
        # What the flush gave chain_execute is written now too: that is what "now" means here.
        written = chain.statements[start:]
        del chain.statements[start:]
        execute_statements(written)


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


def chain_execute(sql: str, params: list, *, first: bool = False) -> None:
    """Run a write at the end of the current service chain, with the chain's other such writes in
    one round trip (`first`: before the others). Outside a chain: now.

    For rows that nothing reads before the transaction ends (a new order and its lines, stock
    moves, the stored answer to an Idempotency-Key): the chain writes them once, together, at
    its end, instead of one statement each along the way.
    """
    chain = _current_chain()
    if chain is None:
        execute_statements([(sql, params)])
    elif first:
        chain.first_statements.append((sql, params))
    else:
        chain.statements.append((sql, params))


def chain_explain(explain: Callable[[IntegrityError], Exception | None]) -> None:
    """Register how to explain an IntegrityError from the current chain's deferred writes (see
    service_transaction). `explain` runs after the rollback, so it may query."""
    chain = _current_chain()
    if chain is not None and explain not in chain.explainers:
        chain.explainers.append(explain)


def integrity_constraint(error: IntegrityError) -> str:
    """The name of the constraint an IntegrityError broke ("" if the driver does not say)."""
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) or ""


def execute_statements(statements: list[tuple[str, list]]) -> None:
    """Run writes in order: on PostgreSQL as one multi-statement query (one round trip)."""
    if statements:
        with default_connection().cursor() as cursor:
            execute_prepared(cursor, statements)


# Prepared statements (PostgreSQL) ----------------------------------------------------------------


class _Prepared:
    """The statements one database session has prepared: SQL text -> name."""

    __slots__ = ("session", "names", "counter", "literals")

    def __init__(self, session) -> None:
        self.session = session  # the driver's connection: a reconnect starts afresh
        self.names: dict[str, str] = {}
        self.counter = 0
        # Values go into the text (sql_literal) only where it writes what psycopg2 would.
        self.literals = (
            session.get_parameter_status("standard_conforming_strings") == "on"
            and _psycopg2_adapts_as_sql_literal_writes()
        )


_PLACEHOLDER = re.compile(r"%s")


def _numbered(sql: str) -> str:
    """psycopg2's placeholders (%s) as PostgreSQL's ($1, $2, ...)."""
    numbers = iter(range(1, sql.count("%s") + 1))
    return _PLACEHOLDER.sub(lambda _match: f"${next(numbers)}", sql)


# The values psycopg2's mogrify writes as text of their own, here written by sql_literal.
_DATE_CASTS = {datetime.datetime: ("::timestamp", "::timestamptz"), datetime.date: ("::date", "::date")}
# psycopg2's own adapters for the types sql_literal writes: with another one registered for any of
# them (psycopg2.extensions.register_adapter), the values go to psycopg2 as parameters.
_PSYCOPG2_ADAPTERS = {
    str: psycopg2.extensions.QuotedString,
    int: psycopg2.extensions.Int,
    bool: psycopg2.extensions.Boolean,
    type(None): psycopg2.extensions.NoneAdapter,
    decimal.Decimal: psycopg2._psycopg.Decimal,
    datetime.date: psycopg2.extensions.DateFromPy,
    datetime.datetime: psycopg2.extensions.TimestampFromPy,
}


def _psycopg2_adapts_as_sql_literal_writes() -> bool:
    adapters = psycopg2.extensions.adapters
    quote = psycopg2.extensions.ISQLQuote
    return all(adapters.get((kind, quote)) is adapter for kind, adapter in _PSYCOPG2_ADAPTERS.items())


def sql_literal(value, cursor) -> str:
    """`value` as the SQL text psycopg2's `cursor.mogrify("%s", [value])` writes, character for
    character, for a session with standard_conforming_strings on (PostgreSQL's default) and
    psycopg2's own adapters (execute_prepared checks both once per session).

    psycopg2 adapts each parameter through its adapter protocol (an adapter object, `prepare`,
    `getquoted`, an encoding): 1.5 to 13 us a value on the bench machine. A new e-order's last
    round trip carries some 170 values, so 0.4 to 0.7 ms of the request's CPU went there. The
    types hot paths send are written here directly; anything else, and a string with a NUL
    (which psycopg2 refuses with its own error), goes through psycopg2 (`cursor` is the driver's).
    tests/common/test_sql_literal.py compares the two for every type written here.
    """
    kind = type(value)
    text, suffix = None, ""
    if kind is str:  # the commonest: first
        text = value
    elif kind is int:
        return str(value) if value >= 0 else f" {value}"  # psycopg2's space: no "--" after a "-"
    elif value is None:
        return "NULL"
    elif kind is bool:
        return "true" if value else "false"
    elif kind is decimal.Decimal:
        if value.is_finite():
            text = str(value)
            return f" {text}" if text[0] == "-" else text
    elif kind in _DATE_CASTS:
        cast = _DATE_CASTS[kind][kind is datetime.datetime and value.tzinfo is not None]
        return f"'{value.isoformat()}'{cast}"
    elif kind is Jsonb:
        text, suffix = value.dumps(value.adapted), "::jsonb"
    elif (
        isinstance(value, str)
        and (kind, psycopg2.extensions.ISQLQuote) not in psycopg2.extensions.adapters
        and not hasattr(value, "__conform__")
    ):
        text = str.__str__(value)  # a TextChoices member: its value, as psycopg2 writes it
    if text is None or "\x00" in text:
        return cursor.mogrify("%s", [value]).decode()  # psycopg2's text, or its error for a NUL
    return "'" + text.replace("'", "''") + "'" + suffix


def execute_prepared(cursor, statements: list[tuple[str, list]], *, then: str = "") -> None:
    """Run statements in one round trip as prepared statements of this session; the cursor then
    holds the last statement's rows. (Other databases: one statement at a time, unprepared.)
    `then`: a plain statement to send after them in the same round trip (COMMIT).

    The hot path of an e-order runs the same dozen statements every time; PostgreSQL parsing and
    planning each afresh (psycopg2 sends plain text) was about a third of its time for them. The
    first use in a session sends `PREPARE` in front of the `EXECUTE`. PREPARE outlives a rollback,
    but a failed round trip may or may not have reached it, so its names are dropped and the
    statements prepared again under new names. Off with O2C_PREPARED_STATEMENTS = False (a
    transaction-mode pooler such as PgBouncer's does not keep them).
    """
    conn = cursor.db
    if conn.vendor != "postgresql":
        for sql, params in statements:  # SQLite runs one statement at a time; the last one's rows stay
            cursor.execute(sql, params)
        if then:
            cursor.execute(then)
        return
    if not getattr(settings, "O2C_PREPARED_STATEMENTS", True):
        texts = [sql for sql, _ in statements] + ([then] if then else [])
        cursor.execute(";\n".join(texts), [p for _, params in statements for p in params])
        return
    prepared = getattr(conn, "o2c_prepared", None)
    if prepared is None or prepared.session is not conn.connection:
        prepared = conn.o2c_prepared = _Prepared(conn.connection)
    driver_cursor = cursor.cursor
    texts: list[str] = []
    values: list = []
    fresh: list[str] = []
    try:
        for sql, params in statements:
            name = prepared.names.get(sql)
            if name is None:
                prepared.counter += 1
                name = f"o2c_{prepared.counter}"
                texts.append(f"PREPARE {name} AS {_numbered(sql)}")
                prepared.names[sql] = name
                fresh.append(sql)
            if not params:
                texts.append(f"EXECUTE {name}")
            elif prepared.literals:
                # The values written into the text here: the statement goes without parameters,
                # so psycopg2 sends it as it is (a % in a value stays a %).
                literals = [sql_literal(value, driver_cursor) for value in params]
                texts.append(f"EXECUTE {name}(" + ", ".join(literals) + ")")
            else:
                texts.append(f"EXECUTE {name}(" + ", ".join(["%s"] * len(params)) + ")")
                values.extend(params)
        if then:
            texts.append(then)
        cursor.execute(";\n".join(texts), values if values else None)
    except Exception:
        for sql in fresh:
            prepared.names.pop(sql, None)
        raise


# Rows without the ORM's query building (hot paths) -------------------------------------------------

_columns_cache: dict[type, tuple[list, str, list[str], list]] = {}


def _columns(model) -> tuple[list, str, list[str], list]:
    """A model's concrete fields, table, qualified columns, and each field's value conversion."""
    cached = _columns_cache.get(model)
    if cached is None:
        quote = connection.ops.quote_name
        fields = list(model._meta.concrete_fields)
        table = quote(model._meta.db_table)
        columns = [f"{table}.{quote(f.column)}" for f in fields]
        # The driver takes str, int, Decimal, dates, bools and None as they are; JSON needs its adapter.
        prepare = [f.get_db_prep_save if f.get_internal_type() == "JSONField" else None for f in fields]
        cached = _columns_cache[model] = (fields, table, columns, prepare)
    return cached


@functools.cache
def _insert_plan(model, with_pk: bool) -> tuple:
    """insert_statement's plan: the SQL column names, one getter for all the values of a row, and
    the positions of auto_now fields and of JSON fields (with their conversion)."""
    fields, _, _, prepare = _columns(model)
    chosen = [(f, p) for f, p in zip(fields, prepare, strict=True) if with_pk or not f.primary_key]
    names = [f.attname for f, _ in chosen]
    # attrgetter with several names gives a tuple, in C: no Python call per field.
    getter = operator.attrgetter(*names) if len(names) > 1 else (lambda obj: (getattr(obj, names[0]),))
    auto = [i for i, (f, _) in enumerate(chosen) if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    json_fields = [(i, p) for i, (_, p) in enumerate(chosen) if p is not None]
    return [f.column for f, _ in chosen], names, getter, auto, json_fields


def insert_statement(model, objects: list) -> tuple[str, list]:
    """One multi-row INSERT of model instances, every concrete field from the instance (primary
    keys too, when the caller took them from the sequence). For chain_execute; auto_now fields
    that are still empty get the time now, as save() would give them."""
    columns, names, getter, auto, json_fields = _insert_plan(model, not all(obj.pk is None for obj in objects))
    conn = default_connection()
    now = None
    params: list = []
    for obj in objects:
        values = getter(obj)
        if auto or json_fields:
            values = list(values)
            for i in auto:
                if values[i] is None:
                    now = now or timezone.now()
                    values[i] = now
                    setattr(obj, names[i], now)
            for i, prep in json_fields:
                values[i] = prep(values[i], conn)
        params.extend(values)
    return _insert_sql(model._meta.db_table, columns, len(objects)), params


@functools.cache
def _row_plan(model) -> tuple:
    """new_row's plan for a model: per concrete field (name, attname, field, foreign key target
    attname or None, one-to-one or not), the names it takes, and whether the model needs Model()
    (database routers, its own __init__, or receivers of pre_init/post_init: apps connect them
    at start-up)."""
    fields = tuple(
        (
            f.name,
            f.attname,
            f,
            f.target_field.attname if f.is_relation else None,
            f.is_relation and not f.remote_field.multiple,
        )
        for f in model._meta.concrete_fields
        if not f.generated
    )
    general = (
        bool(settings.DATABASE_ROUTERS)
        or model.__init__ is not Model.__init__
        or signals.pre_init.has_listeners(model)
        or signals.post_init.has_listeners(model)
    )
    return fields, frozenset(f[0] for f in fields) | frozenset(f[1] for f in fields), general


def new_row(model, **values):
    """`model(**values)` for a row about to be inserted, without Model.__init__'s generality.

    The same instance (field values, defaults, foreign keys set by instance or by id and their
    related objects cached, a one-to-one's reverse side cached), for concrete fields only: about
    2 us instead of 8-13 us. Hot paths build some twenty such rows per e-order (audit entries,
    events, stock moves, allocations, lines). tests/common/test_new_row.py compares the two.
    """
    fields, names, general = _row_plan(model)
    if general or not names.issuperset(values):
        return model(**values)
    obj = model.__new__(model)
    state = obj._state = ModelState()
    attrs = obj.__dict__
    cache = None
    for name, attname, field, target, one_to_one in fields:
        if target is None:
            attrs[attname] = values[name] if name in values else field.get_default()
        elif name in values:
            related = values[name]
            if cache is None:
                cache = state.fields_cache = {}
            cache[name] = related
            if related is None:
                attrs[attname] = None
                continue
            if not isinstance(related, field.remote_field.model._meta.concrete_model):
                return model(**values)  # for the model's own error
            attrs[attname] = getattr(related, target)
            # What the foreign key's descriptor does (Django's router without routers).
            if state.db is None:
                state.db = related._state.db or DEFAULT_DB_ALIAS
            if related._state.db is None:
                related._state.db = state.db
            if one_to_one:
                field.remote_field.set_cached_value(related, obj)
        else:
            attrs[attname] = values[attname] if attname in values else field.get_default()
    return obj


def chain_insert(objects: list) -> None:
    """INSERT these new instances (primary keys set) at the end of the chain; they count as saved."""
    if not objects:
        return
    chain_execute(*insert_statement(type(objects[0]), objects))
    alias = default_connection().alias
    for obj in objects:
        obj._state.adding = False
        obj._state.db = alias


# `where` differs by its IN list's length: a few hundred shapes at most.
@functools.lru_cache(maxsize=4096)
def _select(model, where: str, related: str | None, order_by: str, lock: bool) -> tuple:
    """instances_where's SELECT text, the columns' attribute names, the related field and its names."""
    fields, table, columns, _ = _columns(model)
    names = [f.attname for f in fields]
    select = list(columns)
    join = ""
    field = other_names = None
    if related is not None:
        field = model._meta.get_field(related)
        other_fields, other_table, _, _ = _columns(field.related_model)
        other_names = [f.attname for f in other_fields]
        select += [f"r.{connection.ops.quote_name(f.column)}" for f in other_fields]
        target = connection.ops.quote_name(field.target_field.column)
        join = f" LEFT JOIN {other_table} AS r ON r.{target} = {table}.{connection.ops.quote_name(field.column)}"
    sql = f"SELECT {', '.join(select)} FROM {table}{join} WHERE {where}"
    if order_by:
        sql += f" ORDER BY {order_by}"
    if lock:
        sql += f" FOR UPDATE OF {table}"
    return sql, names, field, other_names


def instances_where(
    model, where: str, params: list, *, related: str | None = None, order_by: str = "", lock: bool = False
) -> list:
    """Instances of `model` (and of one foreign key `related`, joined) read with one plain SELECT.

    What `model.objects.select_related(related).filter(...)` gives, for the hot path of an
    e-order, without building and compiling a queryset each time (about 0.7 ms of CPU a query).
    `where` is SQL on the model's table (and `r` for the related one). PostgreSQL only: the ORM
    converts SQLite's values, so callers use their queryset there.
    """
    sql, names, field, other_names = _select(model, where, related, order_by, lock)
    conn = default_connection()
    with conn.cursor() as cursor:
        execute_prepared(cursor, [(sql, params)])
        rows = cursor.fetchall()
    alias = conn.alias
    count = len(names)
    found = []
    for row in rows:
        instance = model.from_db(alias, names, row[:count])
        if related is not None:
            other = None if row[count] is None else field.related_model.from_db(alias, other_names, row[count:])
            setattr(instance, related, other)
        found.append(instance)
    return found


def select_list(models: list[tuple[type, str]]) -> tuple[str, list[tuple[type, list[str], int, int]]]:
    """For a hot-path query that joins several models: the SELECT list of their concrete columns,
    each model under its table alias, and each model's shape in a row (model, attribute names,
    first column, primary key's column) for instances_from_row."""
    quote = connection.ops.quote_name
    columns, shapes, start = [], [], 0
    for model, alias in models:
        fields = _columns(model)[0]
        columns += [f"{alias}.{quote(f.column)}" for f in fields]
        pk_at = start + next(i for i, f in enumerate(fields) if f.primary_key)
        shapes.append((model, [f.attname for f in fields], start, pk_at))
        start += len(fields)
    return ", ".join(columns), shapes


def instances_from_row(row, shapes: list[tuple[type, list[str], int, int]]) -> list:
    """The instances of these shapes (select_list's) in one row of such a query; None for a
    model whose primary key is NULL (a LEFT JOIN that found nothing)."""
    alias = default_connection().alias
    return [
        None if row[pk_at] is None else model.from_db(alias, names, row[start : start + len(names)])
        for model, names, start, pk_at in shapes
    ]


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
