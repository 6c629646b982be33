"""The invoice run's batch path (invoicing/services/batch.py) against the per-invoice services (PostgreSQL)."""

import datetime
from decimal import Decimal

import psycopg2.extras
import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invoicing import references, services
from invoicing.models import (
    ExchangeRate,
    Invoice,
    InvoiceApproval,
    InvoiceRun,
    InvoiceRunStatus,
    InvoiceShipment,
    InvoiceStatus,
)
from invoicing.services import runs
from o2c.common.models import AuditEntry
from o2c.outbox.models import OutboxEvent
from orders import services as order_services
from orders.migrations import _seed
from orders.models import Order, OrderStatus
from orders.services import LineInput
from tests.factories import CustomerFactory
from tests.invoicing.conftest import ship_order
from tests.invoicing.threads import in_threads

pytestmark = pytest.mark.postgres

UP_TO = datetime.date(2026, 3, 31)


@pytest.fixture
def quick(db):
    """A customer whose invoices need no approval."""
    return CustomerFactory(
        credit_limit=Decimal("100000000"),
        auto_approve_invoices_below=Decimal("1000000"),
        invoice_email="ap@kund.se",
        org_number="556677-8899",  # an electronic address for the UBL
    )


@pytest.fixture
def single_path_only(monkeypatch):
    """Count the groups billed through the per-invoice services."""
    calls = []
    original = runs._bill_one

    def spy(group, run, tally):
        calls.append(group)
        return original(group, run, tally)

    monkeypatch.setattr(runs, "_bill_one", spy)
    return calls


def run_now(up_to=UP_TO) -> InvoiceRun:
    return services.invoice_run_execute(run_id=services.invoice_run_start(up_to=up_to, actor=None).pk)


def audit_of(invoice: Invoice) -> list[tuple]:
    return sorted(
        (entry.action, entry.changes.get("status"), entry.via, entry.note, entry.object_repr.startswith("Invoice"))
        for entry in AuditEntry.objects.filter(content_type__model="invoice", object_id=str(invoice.pk))
    )


def without_numbers(invoice: Invoice) -> str:
    """The UBL with what differs from invoice to invoice (number, payment and order references) taken out."""
    return (
        invoice.ubl.replace(invoice.payment_reference, "REF")
        .replace(f"<cbc:ID>{invoice.order_reference}</cbc:ID>", "<cbc:ID>ORDER</cbc:ID>")
        .replace(f"<cbc:ID>{invoice.number}</cbc:ID>", "<cbc:ID>NUMBER</cbc:ID>", 1)
    )


def content(invoice: Invoice) -> dict:
    lines = list(
        invoice.lines.values_list(
            "position",
            "source",
            "sku",
            "description",
            "quantity",
            "unit",
            "unit_price",
            "discount_percent",
            "net_amount",
            "vat_category_code",
            "vat_rate",
            "delivery_date",
        )
    )
    fields = [
        "status",
        "kind",
        "currency",
        "language",
        "customer_id",
        "delivery_date",
        "payment_terms_days",
        "buyer_reference",
        "seller",
        "reverse_charge",
        "net_amount",
        "vat_amount",
        "gross_amount",
        "rounding_amount",
        "payable_amount",
        "approvals_required",
        "issue_date",
        "due_date",
        "series_id",
    ]
    return {"lines": lines, **{name: getattr(invoice, name) for name in fields}}


@pytest.mark.django_db
def test_the_batch_makes_the_same_invoices_as_the_per_invoice_services(shipped, quick, seller, single_path_only):
    # given two identical shipments of one customer: one billed by the services, one left for the run
    by_hand = shipped({"PUMP": 2, "BOOK": 3}, customer=quick)
    invoice = services.invoice_draft_from_shipments(shipment_ids=[by_hand.pk], actor=None, via="invoice-run")
    single = services.invoice_issue(invoice=invoice, actor=None, via="invoice-run")
    batched_shipments = [shipped({"PUMP": 2, "BOOK": 3}, customer=quick) for _ in range(3)]

    # when the run bills the rest
    run = run_now()

    # then the batch path billed them, with the same content, numbers following on without a gap
    assert single_path_only == []
    assert run.status == InvoiceRunStatus.DONE
    assert run.summary["invoices"] == 3 and run.summary["issued"] == 3 and run.summary.get("failed", 0) == 0
    assert run.summary["amounts"] == {"SEK": str(3 * single.payable_amount)}
    batch = list(Invoice.objects.filter(run=run).order_by("sequence"))
    assert [i.sequence for i in batch] == [1002, 1003, 1004] and [i.number for i in batch] == ["1002", "1003", "1004"]
    assert [link.shipment_id for i in batch for link in i.shipment_links.all()] == [s.pk for s in batched_shipments]
    for invoice, shipment in zip(batch, batched_shipments, strict=True):
        assert content(invoice) == content(single)
        assert invoice.order_id == shipment.order_id
        assert invoice.order_reference == str(shipment.order.number)
        assert invoice.buyer == single.buyer
        assert references.ocr_is_valid(invoice.payment_reference)
        assert invoice.payment_reference != single.payment_reference
        assert invoice.issued_at is not None and invoice.exchange_rate is None
        assert [line.shipment_line.shipment_id for line in invoice.lines.all()] == [shipment.pk, shipment.pk]
        # the UBL says what the invoice says
        assert f"<cbc:ID>{invoice.number}</cbc:ID>" in invoice.ubl
        assert f"<cbc:PaymentID>{invoice.payment_reference}</cbc:PaymentID>" in invoice.ubl
        assert without_numbers(invoice) == without_numbers(single)
        # the same trail: made, approved automatically, issued with its number
        assert [row[:3] for row in audit_of(invoice)] == [row[:3] for row in audit_of(single)]
        created = AuditEntry.objects.get(object_id=str(invoice.pk), content_type__model="invoice", action="create")
        created_single = AuditEntry.objects.get(
            object_id=str(single.pk), content_type__model="invoice", action="create"
        )
        # (the invoice made by hand belongs to no run)
        assert set(created.changes) == set(created_single.changes) | {"run"}
        assert created.changes["payable_amount"] == created_single.changes["payable_amount"]
        issued = AuditEntry.objects.get(object_id=str(invoice.pk), changes__status=["approved", "issued"])
        assert (issued.note, issued.object_repr) == (invoice.number, f"Invoice {invoice.number}")
        approval = InvoiceApproval.objects.get(invoice=invoice)
        assert approval.automatic and approval.approver is None
        event = OutboxEvent.objects.get(event_type="invoice.issued", aggregate_id=str(invoice.pk))
        assert event.payload["number"] == invoice.number
        assert event.payload["payable_amount"] == str(invoice.payable_amount)
        assert event.payload["due_date"] == invoice.due_date.isoformat()
        assert Order.objects.get(pk=shipment.order_id).status == OrderStatus.INVOICED
        assert OutboxEvent.objects.filter(event_type="order.invoiced", aggregate_id=str(shipment.order_id)).exists()
    seller.invoice_series.refresh_from_db()
    assert seller.invoice_series.next_number == 1005


@pytest.mark.django_db
def test_drafts_that_need_approval_wait_and_nothing_is_billed_twice(shipped, quick, single_path_only):
    # given a customer whose invoices need one approval, and one whose need none
    careful = CustomerFactory(credit_limit=Decimal("100000000"))
    waiting = shipped({"PUMP": 1}, customer=careful)
    shipped({"BOOK": 1}, customer=quick)

    run = run_now()

    draft = Invoice.objects.get(shipment_links__shipment=waiting)
    assert (draft.status, draft.approvals_required, draft.number) == (InvoiceStatus.DRAFT, 1, "")
    assert run.summary["awaiting_approval"] == 1 and run.summary["issued"] == 1
    assert not InvoiceApproval.objects.filter(invoice=draft).exists()
    # the order of the draft is not invoiced yet
    assert Order.objects.get(pk=waiting.order_id).status == OrderStatus.SHIPPED
    # the same run redelivered, and a new run, find nothing to bill
    services.invoice_run_execute(run_id=run.pk)
    again = run_now()
    assert again.total == 0 and again.summary.get("invoices", 0) == 0
    assert Invoice.objects.count() == 2 and single_path_only == []


@pytest.mark.django_db
def test_a_missing_exchange_rate_leaves_those_invoices_approved_and_listed(shipped, quick, products, warehouse_user):
    # given a EUR customer without a rate for today, and a SEK customer
    euro = CustomerFactory(
        currency="EUR", credit_limit=Decimal("100000000"), auto_approve_invoices_below=Decimal("1000000")
    )
    euro_order = order_services.order_create(
        customer=euro,
        actor=None,
        lines=[LineInput(sku="PUMP", quantity=Decimal(1), unit_price=Decimal("90.00"))],
    )
    euro_shipment = ship_order(euro_order, warehouse_user)
    sek_shipment = shipped({"PUMP": 1}, customer=quick)
    assert euro_shipment.order.currency == "EUR"
    ExchangeRate.objects.create(
        currency="EUR", base_currency="SEK", date=datetime.date(2000, 1, 3), rate=Decimal("9.5")
    )

    run = run_now()

    euro_invoice = Invoice.objects.get(shipment_links__shipment=euro_shipment)
    sek_invoice = Invoice.objects.get(shipment_links__shipment=sek_shipment)
    assert (euro_invoice.status, euro_invoice.number) == (InvoiceStatus.APPROVED, "")
    assert (sek_invoice.status, sek_invoice.sequence) == (InvoiceStatus.ISSUED, 1001)
    assert run.summary["issued"] == 1 and run.summary["not_issued"] == 1 and run.summary["invoices"] == 2
    (error,) = run.summary["errors"]
    assert error.startswith(f"Shipments {euro_shipment.pk}: ") and "EUR/SEK exchange rate" in error
    assert Order.objects.get(pk=euro_shipment.order_id).status == OrderStatus.SHIPPED

    # once the rate is in, finance issues it by hand and it states its VAT in SEK
    ExchangeRate.objects.create(currency="EUR", base_currency="SEK", date=timezone.localdate(), rate=Decimal("11.2345"))
    issued = services.invoice_issue(invoice=euro_invoice, actor=None)
    assert issued.sequence == 1002 and issued.vat_amount_base is not None


@pytest.mark.django_db
def test_a_collective_invoice_and_a_service_order_in_one_run(shipped, products, single_path_only):
    # given a monthly customer with two shipments, and an order with a service line
    monthly = CustomerFactory(
        credit_limit=Decimal("1000000"), invoicing_period="month", auto_approve_invoices_below=Decimal("1000000")
    )
    first = shipped({"PUMP": 1}, customer=monthly)
    second = shipped({"BOOK": 2, "INSTALL": 1}, customer=monthly)

    run = run_now(up_to=timezone.localdate())  # the service order was confirmed today

    collective = Invoice.objects.get(shipment_links__shipment=first)
    assert collective.shipment_links.count() == 2 and collective.order_id is None
    assert (collective.period_start, collective.period_end) == (datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
    assert list(collective.lines.values_list("position", "sku")) == [(1, "PUMP"), (2, "BOOK")]
    assert collective.status == InvoiceStatus.ISSUED
    # the collective invoice went through the batch; the service order through the services
    assert [g.service_order_id for g in single_path_only] == [second.order_id]
    assert Invoice.objects.filter(run=run).count() == 2
    for order_id in (first.order_id, second.order_id):
        assert Order.objects.get(pk=order_id).status in (OrderStatus.SHIPPED, OrderStatus.INVOICED)


def run_statements(make, count: int, monkeypatch) -> int:
    """Statements one run sends: those Django sees, and the multi-row ones sent through psycopg2."""
    for _ in range(count):
        make()
    run = services.invoice_run_start(up_to=UP_TO, actor=None)
    raw = []
    original = psycopg2.extras.execute_values

    def counted(*args, **kwargs):
        raw.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(psycopg2.extras, "execute_values", counted)
    with CaptureQueriesContext(connection) as queries:
        services.invoice_run_execute(run_id=run.pk)
    monkeypatch.setattr(psycopg2.extras, "execute_values", original)
    assert Invoice.objects.filter(run=run, status=InvoiceStatus.ISSUED).count() == count
    return len(queries) + len(raw)


@pytest.mark.django_db
def test_a_chunk_takes_the_same_number_of_statements_whatever_its_size(shipped, quick, monkeypatch):
    make = lambda: shipped({"PUMP": 1, "BOOK": 2}, customer=quick)  # noqa: E731
    run_statements(make, 1, monkeypatch)  # the settings row and the content types, made and cached once

    few = run_statements(make, 3, monkeypatch)
    many = run_statements(make, 15, monkeypatch)

    # 15 invoices (45 lines) in the statements of 3: drafts, lines, links, approvals, audit, numbers,
    # the UPDATE that issues them, events and the orders marked invoiced, each once per chunk
    assert many == few
    assert many <= 50  # the whole run: start, one chunk, finish


# --- concurrency (own connections, committed data) ------------------------------------------------


@pytest.fixture
def vat_seeded(transactional_db):
    """The VAT categories the migrations seed (a transactional test before this one flushed them)."""
    _seed.vat()


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_bill_every_shipment_exactly_once_with_gapless_numbers(
    vat_seeded, shipped, quick, seller, monkeypatch
):
    # given 24 shipments and two runs started side by side (small chunks, so they interleave)
    shipments = [shipped({"PUMP": 1}, customer=quick) for _ in range(24)]
    monkeypatch.setattr(runs, "CHUNK", 5)
    first = InvoiceRun.objects.create(up_to=UP_TO)
    second = InvoiceRun.objects.create(up_to=UP_TO)

    results, errors = in_threads(lambda run: services.invoice_run_execute(run_id=run.pk), [first, second])

    assert errors == []
    assert all(run.status == InvoiceRunStatus.DONE for run in results)
    assert InvoiceShipment.objects.filter(shipment__in=shipments).count() == 24
    assert Invoice.objects.count() == 24
    assert sum(run.summary.get("invoices", 0) for run in results) == 24
    numbers = sorted(Invoice.objects.filter(status=InvoiceStatus.ISSUED).values_list("sequence", flat=True))
    assert numbers == list(range(1001, 1025))
    seller.invoice_series.refresh_from_db()
    assert seller.invoice_series.next_number == 1025
    # what one run found billed by the other is listed, not billed again
    failed = sum(run.summary.get("failed", 0) for run in results)
    assert failed == sum(len(run.summary.get("errors", [])) for run in results)


@pytest.mark.django_db
def test_a_failed_batch_is_redone_group_by_group(shipped, quick, monkeypatch, single_path_only):
    # given a chunk whose batch fails half-way (after its numbers were taken)
    shipments = [shipped({"PUMP": 1}, customer=quick) for _ in range(3)]

    def broken(rows):
        raise IntegrityError("the UPDATE failed")

    monkeypatch.setattr("invoicing.services.batch._issue_write", broken)

    run = run_now()

    # then the chunk was billed invoice by invoice, with no gap where the batch's numbers were
    assert len(single_path_only) == 3 and run.summary["issued"] == 3
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1001, 1002, 1003]
    assert InvoiceShipment.objects.filter(shipment__in=shipments).count() == 3
