"""Invoice run throughput: shipments invoiced per second (database part), and PDFs per second.

    .venv/bin/python bench/invoice_run.py [--shipments 10000] [--pdfs 200] [--processes 2]

Needs PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/o2cinvoice; the
database is dropped and recreated). Shipped shipments (3 lines each, at 25 % and 6 % VAT) are
inserted with SQL in the state an invoice run finds them; the run itself is the real code
(invoicing.services.invoice_run_execute): drafts, automatic approval, numbers, VAT, payment
references and the Peppol UBL (the customer has a Peppol address, so every invoice gets one), on the
run's batch path (invoicing/services/batch.py, 500 billing groups a transaction), and the PDF tasks queued
after each commit (to the in-memory broker unless CELERY_BROKER_URL says otherwise). The run's
own CPU time is printed beside the wall time: on a busy machine it tells how much was waiting.

Then the PDFs: `--pdfs` issued invoices rendered by `--processes` worker processes through the real
task code (invoicing.documents.invoice_pdf_render: HTML, WeasyPrint, storage, the row update),
against the ceiling: WeasyPrint alone rendering the same HTML strings in the same number of
processes, taken before and after ours and averaged. The run's rows are vacuumed and analysed
before the PDFs, so autovacuum's cleanup of the run is not charged to them. Prints invoices/s,
PDFs/s and the ratios to the targets (500 invoices/s; 0.9 x ceiling).

Django runs with the production settings (DEBUG off), as deployed.
"""

import argparse
import multiprocessing
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
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/o2cinvoice"


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    import psycopg2

    conn = psycopg2.connect(f"{parsed.scheme}://{parsed.netloc}/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def setup_django(url: str, *, migrate: bool) -> None:
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

    settings.O2C_OUTBOX_KICK = False  # measure the run, not the broker
    settings.MEDIA_ROOT = os.environ.get("BENCH_MEDIA_ROOT", "/tmp/o2c-bench-media")
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def seed(shipments: int) -> None:
    """The company, one customer that needs no approval, and `shipments` shipped shipments."""
    from decimal import Decimal

    from django.db import connection

    from fulfilment.services import warehouse_default
    from invoicing.services import invoicing_settings_for
    from orders.models import BankAccount, NumberSeries
    from tests.factories import CompanyFactory, CustomerFactory, ProductFactory, vat_category

    company = CompanyFactory()
    company.invoice_series = NumberSeries.objects.create(company=company, code="inv", name="Invoices", next_number=1)
    company.save()
    BankAccount.objects.create(company=company, kind="bankgiro", number="5050-1055")
    settings = invoicing_settings_for(company)
    settings.auto_approve_below = Decimal("100000000")
    settings.round_to_whole_units = True
    settings.save()
    # With an organisation number the customer has a Peppol address, so every invoice gets its UBL.
    customer = CustomerFactory(
        number="90001",
        credit_limit=Decimal("1000000000"),
        invoice_email="ap@example.com",
        org_number="556677-8899",
    )
    products = [
        ProductFactory(sku="BENCH-A"),
        ProductFactory(sku="BENCH-B", unit_price=Decimal("33.33")),
        ProductFactory(sku="BENCH-C", unit_price=Decimal("199.00"), vat_category=vat_category("reduced_culture")),
    ]
    warehouse = warehouse_default()
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO orders_order (number, customer_id, channel, external_reference, customer_reference,
                currency, order_date, note, status, net_amount, vat_amount, gross_amount, cancel_reason,
                created_at, updated_at, ship_complete)
            SELECT 100000000 + g, %s, 'webshop', 'WEB-' || g, 'Bench', 'SEK', CURRENT_DATE - 3, '', 'shipped',
                0, 0, 0, '', now(), now(), false
            FROM generate_series(1, %s) AS g
            """,
            [customer.pk, shipments],
        )
        for position, (product, quantity) in enumerate(zip(products, (2, 3, 1), strict=True), start=1):
            cursor.execute(
                """
                INSERT INTO orders_orderline (order_id, position, product_id, description, quantity, unit,
                    unit_price, discount_percent, vat_category_id, vat_rate, net_amount)
                SELECT id, %s, %s, %s, %s, 'H87', %s, %s, %s, %s, round(%s * %s * (100 - %s) / 100, 2)
                FROM orders_order WHERE number > 100000000
                """,
                [
                    position,
                    product.pk,
                    product.name,
                    quantity,
                    product.unit_price,
                    10 if position == 2 else 0,
                    product.vat_category_id,
                    25 if position < 3 else 6,
                    quantity,
                    product.unit_price,
                    10 if position == 2 else 0,
                ],
            )
        cursor.execute(
            """
            INSERT INTO fulfilment_picklist (order_id, warehouse_id, status, created_at, pdf)
            SELECT id, %s, 'shipped', now(), '' FROM orders_order WHERE number > 100000000
            """,
            [warehouse.pk],
        )
        cursor.execute(
            """
            INSERT INTO fulfilment_shipment (order_id, pick_list_id, carrier, tracking_number, ship_date, status,
                created_at, shipped_at)
            SELECT order_id, id, 'PostNord', 'JJSE' || id, CURRENT_DATE - 1, 'shipped', now(), now()
            FROM fulfilment_picklist
            """
        )
        cursor.execute(
            """
            INSERT INTO fulfilment_shipmentline (shipment_id, order_line_id, quantity)
            SELECT s.id, l.id, l.quantity FROM fulfilment_shipment s JOIN orders_orderline l ON l.order_id = s.order_id
            """
        )
        cursor.execute("ANALYZE")
    print(f"  seeded {shipments:,} shipped shipments in {time.monotonic() - started:.1f} s")


def invoice_run() -> tuple[int, float]:
    import datetime

    from django.utils import timezone

    from invoicing.models import Invoice
    from invoicing.services import invoice_run_execute, invoice_run_start

    started, cpu = time.perf_counter(), time.process_time()
    run = invoice_run_start(up_to=timezone.localdate() - datetime.timedelta(days=1), actor=None)
    run = invoice_run_execute(run_id=run.pk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    issued = Invoice.objects.filter(run=run, status="issued").count()
    assert issued == run.total, (issued, run.total, run.summary.get("errors"))
    assert not Invoice.objects.filter(run=run, ubl="").exists(), "every invoice must have its UBL"
    print(f"  the run's process used {cpu:.1f} s of CPU in {seconds:.1f} s")
    return issued, seconds


def _init_worker(url: str) -> None:
    setup_django(url, migrate=False)


def _render_ours(invoice_id: int) -> None:
    from invoicing.documents import invoice_pdf_render

    invoice_pdf_render(invoice_id=invoice_id)


def _render_ceiling(html: str) -> int:
    from weasyprint import HTML

    return len(HTML(string=html, base_url=str(ROOT)).write_pdf())


def pdfs(url: str, *, count: int, processes: int) -> tuple[float, float]:
    from django.db import connections

    from invoicing.documents import invoice_pdf_html
    from invoicing.models import Invoice

    ids = list(Invoice.objects.filter(status="issued").order_by("pk").values_list("pk", flat=True)[:count])
    htmls = [invoice_pdf_html(Invoice.objects.get(pk=pk)) for pk in ids]
    connections.close_all()
    context = multiprocessing.get_context("fork")

    def timed(function, items) -> float:
        with context.Pool(processes, initializer=_init_worker, initargs=(url,)) as pool:
            pool.map(_render_ceiling, htmls[:processes])  # warm up fonts and imports in every process
            started = time.perf_counter()
            pool.map(function, items, chunksize=1)
            return time.perf_counter() - started

    # The ceiling is taken before and after ours and averaged, so that a machine growing busier
    # or quieter during the minute is not charged to one side.
    before = timed(_render_ceiling, htmls)
    ours = len(ids) / timed(_render_ours, ids)
    ceiling = 2 * len(htmls) / (before + timed(_render_ceiling, htmls))
    rendered = Invoice.objects.filter(pk__in=ids, pdf_rendered_at__isnull=False).count()
    assert rendered == len(ids), (rendered, len(ids))
    return ours, ceiling


def vacuum_analyze(url: str) -> None:
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    conn.close()


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
    parser.add_argument("--shipments", type=int, default=10_000)
    parser.add_argument("--pdfs", type=int, default=200, help="how many of the invoices to render (0: none)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    print(f"machine: {machine()}")
    recreate_database(args.database_url)
    setup_django(args.database_url, migrate=True)
    seed(args.shipments)
    issued, seconds = invoice_run()
    rate = issued / seconds
    print(f"database part: {issued:,} invoices drafted, approved, numbered and issued with UBL in {seconds:.1f} s:")
    print(f"  {rate:,.0f} invoices/s ({rate / 500:.2f} x the 500/s target)")
    if args.pdfs:
        # The run's rows are cleaned up and counted now, as autovacuum would do in the
        # background, rather than during the PDFs: that work belongs to the run.
        vacuum_analyze(args.database_url)
        ours, ceiling = pdfs(args.database_url, count=args.pdfs, processes=args.processes)
        print(f"PDFs with {args.processes} processes: ours {ours:.1f}/s, WeasyPrint alone {ceiling:.1f}/s")
        print(f"  ratio {ours / ceiling:.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()
