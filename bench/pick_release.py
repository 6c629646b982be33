"""Pick-release sweep throughput: due orders released per second, with and without not-due orders.

    .venv/bin/python bench/pick_release.py [--due 100000] [--not-due 1000000] [--batch 1000]

Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/o2cpick; the database
is dropped and recreated). Orders are inserted with SQL (generate_series) in the state the sweep
finds them in: awaiting release, one reserved line each; the sweep itself is the real code
(fulfilment.services.orders_release_due: one locked batch -> status update, audit entries,
outbox events and pick lists). Prints orders/s for both runs and the cost of the not-due orders.
"""

import argparse
import os
import platform
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = f"{parsed.scheme}://{parsed.netloc}/postgres"
    import psycopg2

    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    # The production settings, as deployed: DEBUG off (no per-query logging, which copies each
    # statement's text with its values), the production storage and middleware.
    os.environ["DJANGO_SETTINGS_MODULE"] = "o2c.settings.production"
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("O2C_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings

    settings.O2C_OUTBOX_KICK = False  # measure the sweep, not the broker
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(*, due: int, not_due: int) -> None:
    from decimal import Decimal

    from django.db import connection

    from fulfilment.services import stock_receive, warehouse_default
    from tests.factories import CustomerFactory, ProductFactory

    customer = CustomerFactory(number="90001", credit_limit=Decimal("1000000000"))
    product = ProductFactory(sku="BENCH-1")
    stock_receive(product=product, quantity=Decimal(due + 10), actor=None)
    item = product.stock_items.get(warehouse=warehouse_default())
    vat_category_id = product.vat_category_id
    with connection.cursor() as cursor:

        def insert_orders(first: int, count: int, release_at_sql: str) -> None:
            cursor.execute(
                f"""
                INSERT INTO orders_order (number, customer_id, channel, external_reference, customer_reference,
                    currency, order_date, note, status, net_amount, vat_amount, gross_amount, release_at,
                    cancel_reason, created_at, updated_at, ship_complete)
                SELECT 100000000 + g, %s, 'webshop', '', '', 'SEK', CURRENT_DATE, '', 'awaiting_release',
                    100, 25, 125, {release_at_sql}, '', now(), now(), false
                FROM generate_series(%s, %s) AS g
                """,
                [customer.pk, first, first + count - 1],
            )

        started = time.monotonic()
        insert_orders(1, due, "now() - interval '1 minute' * (g %% 60)")
        cursor.execute(
            """
            INSERT INTO orders_orderline (order_id, position, product_id, description, quantity, unit, unit_price,
                discount_percent, vat_category_id, vat_rate, net_amount)
            SELECT id, 1, %s, 'Bench', 1, 'C62', 100, 0, %s, 25, 100 FROM orders_order WHERE number > 100000000
            """,
            [product.pk, vat_category_id],
        )
        cursor.execute(
            """
            INSERT INTO fulfilment_lineallocation (order_line_id, stock_item_id, reserved, backordered, shipped)
            SELECT l.id, %s, 1, 0, 0 FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
            WHERE o.number > 100000000
            """,
            [item.pk],
        )
        cursor.execute("UPDATE fulfilment_stockitem SET reserved = %s WHERE id = %s", [due, item.pk])
        if not_due:
            insert_orders(due + 1, not_due, "now() + interval '1 day' + interval '1 second' * g")
        cursor.execute("ANALYZE")
        print(f"  seeded {due:,} due and {not_due:,} not-due orders in {time.monotonic() - started:.1f} s")


def sweep(batch: int) -> tuple[int, float]:
    from fulfilment.services import orders_release_due

    released = 0
    started = time.perf_counter()
    while done := orders_release_due(batch=batch):
        released += len(done)
    return released, time.perf_counter() - started


def run(url: str, *, due: int, not_due: int, batch: int) -> float:
    if _configured:
        from django.db import connections

        connections.close_all()
    recreate_database(url)
    setup_django_again(url)
    seed(due=due, not_due=not_due)
    released, seconds = sweep(batch)
    rate = released / seconds
    print(f"  released {released:,} in {seconds:.2f} s: {rate:,.0f} orders/s")
    return rate


_configured = False


def setup_django_again(url: str) -> None:
    global _configured
    if not _configured:
        setup_django(url)
        _configured = True
    else:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} cores, {model}; {pg}; Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--not-due", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/o2cpick")
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"with {args.not_due:,} not-due orders present:")
    with_not_due = run(args.database_url, due=args.due, not_due=args.not_due, batch=args.batch)
    print("with no not-due orders:")
    without = run(args.database_url, due=args.due, not_due=0, batch=args.batch)
    print(
        f"target >= 5,000 orders/s: {with_not_due / 5000:.2f} x target with not-due orders, "
        f"{without / 5000:.2f} x without"
    )
    print(f"cost of the not-due orders: {(1 - with_not_due / without) * 100:.1f} % (target < 10 %)")


if __name__ == "__main__":
    main()
