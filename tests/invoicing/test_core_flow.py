"""Invoices from shipments: draft, four-eyes approval, issue with number, due date and reference."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from invoicing import references, services
from invoicing.models import Invoice, InvoiceApproval, InvoiceStatus
from o2c.common.exceptions import ApplicationError
from o2c.common.models import AuditEntry
from o2c.outbox.models import OutboxEvent
from orders.models import OrderStatus

pytestmark = pytest.mark.django_db


def test_a_shipment_becomes_an_invoice_with_the_orders_prices_and_vat(shipped, finance):
    shipment = shipped({"PUMP": 2, "BOOK": 3})
    invoice = services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance)
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number == ""
    lines = list(invoice.lines.values_list("sku", "quantity", "unit_price", "vat_rate", "net_amount"))
    assert lines == [
        ("PUMP", Decimal("2.000"), Decimal("1000.00"), Decimal("25.00"), Decimal("2000.00")),
        ("BOOK", Decimal("3.000"), Decimal("199.00"), Decimal("6.00"), Decimal("597.00")),
    ]
    # VAT per rate on the rate's sum: 2000 × 25 % = 500.00; 597 × 6 % = 35.82.
    assert (invoice.net_amount, invoice.vat_amount, invoice.gross_amount) == (
        Decimal("2597.00"),
        Decimal("535.82"),
        Decimal("3132.82"),
    )
    assert invoice.delivery_date == shipment.ship_date
    assert invoice.order_id == shipment.order_id


def test_the_same_shipment_is_never_billed_twice(shipped, finance):
    shipment = shipped({"PUMP": 1})
    services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance)
    with pytest.raises(ApplicationError) as error:
        services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance)
    assert "already billed" in error.value.message


def test_four_eyes_then_issue_numbers_dates_and_references(shipped, finance, finance2, seller):
    shipment = shipped({"PUMP": 1})
    invoice = services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance)
    with pytest.raises(ApplicationError) as error:
        services.invoice_approve(invoice=invoice, actor=finance)
    assert "another finance user" in error.value.message
    services.invoice_approve(invoice=invoice, actor=finance2)
    invoice = services.invoice_issue(invoice=invoice, actor=finance2, issue_date=datetime.date(2026, 3, 3))
    assert invoice.status == InvoiceStatus.ISSUED
    assert (invoice.number, invoice.sequence) == ("1001", 1001)
    assert invoice.due_date == datetime.date(2026, 3, 3) + datetime.timedelta(days=invoice.payment_terms_days)
    assert references.ocr_is_valid(invoice.payment_reference)
    assert invoice.seller["name"] == seller.legal_name and invoice.seller["bank_accounts"][0]["kind"] == "bankgiro"
    shipment.order.refresh_from_db()
    assert shipment.order.status == OrderStatus.INVOICED
    assert OutboxEvent.objects.filter(event_type="invoice.issued", aggregate_id=str(invoice.pk)).exists()
    assert AuditEntry.objects.filter(object_id=str(invoice.pk), changes__status=["approved", "issued"]).exists()


def test_below_the_customers_limit_an_invoice_is_approved_automatically(shipped, finance, products):
    from tests.factories import CustomerFactory

    customer = CustomerFactory(credit_limit=Decimal("1000000"), auto_approve_invoices_below=Decimal("5000"))
    shipment = shipped({"PUMP": 1}, customer=customer)
    invoice = services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance)
    assert invoice.status == InvoiceStatus.APPROVED and invoice.approvals_required == 0
    assert InvoiceApproval.objects.get(invoice=invoice).automatic


def test_above_the_threshold_two_different_approvers_are_needed(shipped, finance, finance2, seller):
    from tests.factories import user_with_role

    settings = services.invoicing_settings_for(seller)
    settings.second_approval_from = Decimal("1000")
    settings.save()
    shipment = shipped({"PUMP": 2})
    invoice = services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance)
    assert invoice.approvals_required == 2
    services.invoice_approve(invoice=invoice, actor=finance2)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DRAFT
    with pytest.raises(ApplicationError):
        services.invoice_approve(invoice=invoice, actor=finance2)
    services.invoice_approve(invoice=invoice, actor=user_with_role("finance", "finance3"))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.APPROVED


def test_an_issued_invoice_cannot_be_changed_in_the_database(issued):
    invoice = issued({"PUMP": 1})
    for statement in (
        "UPDATE invoicing_invoice SET payable_amount = 1, gross_amount = 1 WHERE id = %s",
        "UPDATE invoicing_invoice SET number = 'X' WHERE id = %s",
        "UPDATE invoicing_invoice SET status = 'draft' WHERE id = %s",
        "DELETE FROM invoicing_invoice WHERE id = %s",
        "UPDATE invoicing_invoiceline SET unit_price = 1 WHERE invoice_id = %s",
        "DELETE FROM invoicing_invoiceline WHERE invoice_id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [invoice.pk])
    # What may change after issue: the status forward, and the PDF.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE invoicing_invoice SET status = 'sent', pdf = 'x.pdf' WHERE id = %s", [invoice.pk])
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.SENT and invoice.payable_amount == Decimal("1250.00")


def test_a_full_credit_note_gives_back_exactly_the_invoice(issued, finance, finance2):
    invoice = issued({"PUMP": 1, "BOOK": 2})
    note = services.credit_note_create(invoice=invoice, reason="Wrong customer", actor=finance)
    assert (note.kind, note.credited_invoice_id) == ("credit_note", invoice.pk)
    assert (note.net_amount, note.vat_amount, note.payable_amount) == (
        invoice.net_amount,
        invoice.vat_amount,
        invoice.payable_amount,
    )
    services.invoice_approve(invoice=note, actor=finance2)
    note = services.invoice_issue(invoice=note, actor=finance2)
    assert note.number == "K1"
    with pytest.raises(ApplicationError):
        services.credit_note_create(invoice=invoice, reason="again", actor=finance)


def test_a_partial_credit_note_cannot_exceed_what_was_invoiced(issued, finance):
    invoice = issued({"BOOK": 3})
    line = invoice.lines.get()
    services.credit_note_create(invoice=invoice, reason="Two damaged", actor=finance, lines=[(line, Decimal(2))])
    with pytest.raises(ApplicationError) as error:
        services.credit_note_create(invoice=invoice, reason="more", actor=finance, lines=[(line, Decimal(2))])
    assert "at most 1" in error.value.message


def test_an_invoice_run_bills_each_shipment_once_and_can_be_repeated(shipped, seller):
    from invoicing.models import InvoiceRunStatus, InvoiceShipment
    from tests.factories import CustomerFactory

    quick = CustomerFactory(credit_limit=Decimal("1000000"), auto_approve_invoices_below=Decimal("100000"))
    first, second = shipped({"PUMP": 1}, customer=quick), shipped({"BOOK": 2})
    run = services.invoice_run_start(up_to=datetime.date(2026, 3, 31), actor=None)
    assert run.total == 2
    run = services.invoice_run_execute(run_id=run.pk)
    assert run.status == InvoiceRunStatus.DONE and run.processed == 2
    assert run.summary["invoices"] == 2 and run.summary["issued"] == 1 and run.summary["awaiting_approval"] == 1
    assert InvoiceShipment.objects.filter(shipment__in=[first, second]).count() == 2
    # Executing the same run again (a redelivered message) or a new run bills nothing more.
    services.invoice_run_execute(run_id=run.pk)
    again = services.invoice_run_execute(
        run_id=services.invoice_run_start(up_to=datetime.date(2026, 3, 31), actor=None).pk
    )
    assert again.total == 0 and again.summary.get("invoices", 0) == 0
    assert Invoice.objects.count() == 2


def test_a_collective_customer_gets_one_invoice_per_month_once_the_month_is_over(shipped):
    from tests.factories import CustomerFactory

    monthly = CustomerFactory(credit_limit=Decimal("1000000"), invoicing_period="month")
    shipped({"PUMP": 1}, customer=monthly)
    shipped({"BOOK": 1}, customer=monthly)
    assert services.billing_groups(up_to=datetime.date(2026, 3, 30)) == []
    (group,) = services.billing_groups(up_to=datetime.date(2026, 3, 31))
    assert len(group.shipment_ids) == 2 and group.period == (datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
    run = services.invoice_run_execute(
        run_id=services.invoice_run_start(up_to=datetime.date(2026, 4, 2), actor=None).pk
    )
    invoice = Invoice.objects.get(run=run)
    assert invoice.order_id is None and invoice.lines.count() == 2 and invoice.period_end == datetime.date(2026, 3, 31)


def test_received_goods_of_an_invoiced_order_get_a_credit_note_draft(issued, warehouse_user):
    from fulfilment.services import shipping

    invoice = issued({"PUMP": 3, "BOOK": 2})
    pump_line, book_line = invoice.order.lines.order_by("position")
    rma = shipping.return_authorize(
        order=invoice.order, lines=[(pump_line, Decimal(2))], reason="Wrong model", actor=warehouse_user
    )
    (rma_line,) = rma.lines.all()

    # One back to stock, one scrapped: both were invoiced, both are credited.
    shipping.return_receive(rma=rma, lines=[(rma_line, Decimal(1), Decimal(1))], actor=warehouse_user)

    note = Invoice.objects.get(rma=rma)
    assert (note.kind, note.status, note.credited_invoice_id) == ("credit_note", InvoiceStatus.DRAFT, invoice.pk)
    assert list(note.lines.values_list("sku", "quantity", "unit_price")) == [
        ("PUMP", Decimal("2.000"), Decimal("1000.00"))
    ]
    assert note.payable_amount == Decimal("2500.00") and rma.number in note.reason
    # Receiving is not repeated, but a second call of the receiver makes nothing more.
    assert services.credit_notes_for_return(rma=rma, actor=None) == []


def test_a_channels_amount_approves_its_invoices_automatically(shipped, finance):
    from invoicing.models import ChannelAutoApproval

    ChannelAutoApproval.objects.create(channel="webshop", below=Decimal("2000"))
    small = services.invoice_draft_from_shipments(
        shipment_ids=[shipped({"PUMP": 1}, channel="webshop").pk], actor=finance
    )  # 1,250.00 to pay
    large = services.invoice_draft_from_shipments(
        shipment_ids=[shipped({"PUMP": 2}, channel="webshop").pk], actor=finance
    )  # 2,500.00
    other = services.invoice_draft_from_shipments(shipment_ids=[shipped({"PUMP": 1}).pk], actor=finance)

    assert (small.status, small.approvals_required) == (InvoiceStatus.APPROVED, 0)
    assert (large.status, large.approvals_required) == (InvoiceStatus.DRAFT, 1)
    assert (other.status, other.approvals_required) == (InvoiceStatus.DRAFT, 1)  # manual channel: company's 0
