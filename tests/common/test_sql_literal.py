"""sql_literal writes values as psycopg2's mogrify does (o2c/common/db.py), so that statements
sent with their values in the text run exactly as they ran with psycopg2's parameters."""

import datetime
import decimal
import zoneinfo

import psycopg2.extensions
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import Jsonb

from o2c.common.db import execute_prepared, sql_literal
from orders.models import OrderStatus

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg2's literals are PostgreSQL's"),
]

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")

VALUES = [
    0,
    7,
    -7,
    2**70,
    -(2**70),
    True,
    False,
    None,
    "",
    "plain",
    "it's",
    "''",
    "back\\slash \\' and \\\\",
    "per%cent %s %(name)s %%",
    "-- not a comment; DROP TABLE orders_order; /*",
    "åäö ÆØÅ € 😀 \u200b",
    "line\nbreak\ttab\r",
    "$1 $$ dollar $$",
    decimal.Decimal("0"),
    decimal.Decimal("-0"),
    decimal.Decimal("1.50"),
    decimal.Decimal("-1.50"),
    decimal.Decimal("1E+2"),
    decimal.Decimal("-1E-7"),
    decimal.Decimal("123456789012345678901234567890.123456789"),
    decimal.Decimal("NaN"),
    decimal.Decimal("Infinity"),
    decimal.Decimal("-Infinity"),
    datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    datetime.datetime(2026, 6, 2, 3, 4, 5, 7, tzinfo=STOCKHOLM),
    datetime.datetime(2026, 1, 2, 3, 4, 5, 6),  # noqa: DTZ001 - a naive one is written ::timestamp
    datetime.date(2026, 1, 2),
    Jsonb({"a": "x'y", "b": [1, 2.5, None], "c": "åäö", "d": "50%"}),
    Jsonb([]),
    Jsonb("it's"),
    OrderStatus.DRAFT,
    # Not written by sql_literal: psycopg2 writes these.
    1.5,
    datetime.time(1, 2),
    [1, 2],
    b"bytes",
]


def value_id(value) -> str:
    # repr, but the same in every test process (a Jsonb's repr has its address)
    return f"Jsonb({value.adapted!r})" if isinstance(value, Jsonb) else repr(value)


@pytest.fixture
def driver_cursor():
    with connection.cursor() as cursor:
        yield cursor.cursor


@pytest.mark.parametrize("value", VALUES, ids=value_id)
def test_the_same_text_as_psycopg2(driver_cursor, value):
    assert sql_literal(value, driver_cursor) == driver_cursor.mogrify("%s", [value]).decode()


@pytest.mark.parametrize("value", [v for v in VALUES if isinstance(v, str)], ids=value_id)
def test_strings_come_back_as_they_went(driver_cursor, value):
    driver_cursor.execute(f"SELECT {sql_literal(value, driver_cursor)}::text")
    assert driver_cursor.fetchone()[0] == value


def test_a_nul_gets_psycopg2s_error(driver_cursor):
    with pytest.raises(ValueError, match="NUL"):
        sql_literal("a\x00b", driver_cursor)
    with pytest.raises(ValueError, match="NUL"):
        sql_literal(OrderStatus.DRAFT.__class__("draft") + "\x00", driver_cursor)


def test_prepared_statements_take_their_values_in_the_text():
    """A % or a quote in a value reaches PostgreSQL as it is; the statement goes without parameters."""
    tricky = "50% off, it's \\ here %s"
    sent = []

    def spy(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy), connection.cursor() as cursor:
        execute_prepared(
            cursor,
            [
                (
                    "SELECT %s::text, %s::numeric, %s::jsonb ->> 'k'",
                    [tricky, decimal.Decimal("-2.50"), Jsonb({"k": tricky})],
                )
            ],
        )
        assert cursor.fetchone() == (tricky, decimal.Decimal("-2.50"), tricky)
    assert sent[-1][1] is None
    assert "EXECUTE" in sent[-1][0] and "'50% off, it''s \\ here %s'" in sent[-1][0]


class Shouting(str):
    """A str subclass that adapts itself (psycopg2's __conform__ protocol)."""

    def __conform__(self, protocol):
        return psycopg2.extensions.AsIs("upper('x')")


def test_a_string_that_adapts_itself_is_left_to_psycopg2(driver_cursor):
    assert (
        sql_literal(Shouting("x"), driver_cursor)
        == "upper('x')"
        == driver_cursor.mogrify("%s", [Shouting("x")]).decode()
    )


@pytest.mark.django_db(transaction=True)  # it reconnects: a new session checks the adapters again
def test_with_another_adapter_registered_the_values_go_as_parameters():
    """Someone's register_adapter for a type sql_literal writes: psycopg2 adapts, as without sql_literal."""

    class Tenfold:
        def __init__(self, value):
            self.value = value

        def getquoted(self):
            return f"({self.value} * 10)".encode()

    quote = psycopg2.extensions.ISQLQuote
    int_adapter = psycopg2.extensions.adapters[(int, quote)]
    psycopg2.extensions.register_adapter(int, Tenfold)
    try:
        connection.close()
        with connection.cursor() as cursor:
            execute_prepared(cursor, [("SELECT %s::int + 0", [7])])
            assert cursor.fetchone() == (70,)
            assert cursor.db.o2c_prepared.literals is False
    finally:
        psycopg2.extensions.register_adapter(int, int_adapter)
        connection.close()
    with connection.cursor() as cursor:
        execute_prepared(cursor, [("SELECT %s::int + 0", [7])])
        assert cursor.fetchone() == (7,)
        assert cursor.db.o2c_prepared.literals is True
