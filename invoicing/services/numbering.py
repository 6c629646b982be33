"""Gapless invoice numbers.

A number is taken by one UPDATE ... RETURNING on the series row inside the issuing transaction. The
row stays locked until that transaction ends, so concurrent issues queue behind each other and get
consecutive numbers; if the issue rolls back, so does the increment, and the next issue gets the
same number: no gap, no duplicate. The cost is that issues in one series are serialised, which is
why nothing slow (PDF rendering, e-mail) ever runs inside an issuing transaction.
"""

from django.db import connection

from orders.models import NumberSeries


def series_format(series: NumberSeries, sequence: int) -> str:
    return f"{series.prefix}{str(sequence).zfill(series.padding)}"


def number_take(*, series: NumberSeries, count: int = 1) -> int:
    """Reserve `count` consecutive numbers in the caller's transaction; returns the first."""
    table = connection.ops.quote_name(NumberSeries._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_number = next_number + %s WHERE id = %s RETURNING next_number - %s",
            [count, series.pk, count],
        )
        row = cursor.fetchone()
    if row is None:
        raise NumberSeries.DoesNotExist(f"Number series {series.pk} is gone")
    return row[0]
