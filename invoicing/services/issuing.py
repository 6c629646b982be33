"""Issuing: the moment an approved invoice gets its number, date, due date and payment reference.

Everything is fixed in one short transaction: the number comes from the series row (locked until
commit, see numbering.py), the exchange rate from the rate table, the UBL is built from the frozen
data. The PDF is rendered by a worker after commit (WeasyPrint needs ~0.24 s a page, far too long
to hold the series lock for).
"""

import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fulfilment.models import Shipment
from o2c.common.audit import audit_transition
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.money import round_money
from o2c.common.roles import user_can
from o2c.outbox.services import event_record
from orders import services as order_services
from orders.models import Order, OrderStatus

from .. import references
from ..models import Invoice, InvoiceKind, InvoiceStatus
from .fx import exchange_rate_require
from .numbering import number_take, series_format
from .parties import seller_snapshot
from .transitions import invoice_transition


def rate_apply(invoice: Invoice, *, rate: tuple, base_currency: str) -> None:
    """State the VAT in the base currency at `rate` (rate, its date)."""
    invoice.exchange_rate, invoice.exchange_rate_date = rate
    invoice.vat_amount_base = round_money(invoice.vat_amount * invoice.exchange_rate, base_currency)


def issue_fields_set(invoice: Invoice, *, series, sequence: int, on: datetime.date, issued_at, actor) -> None:
    """What issuing fixes on the document, given its number: the one rule for both issuing paths."""
    invoice.sequence = sequence
    invoice.series = series
    invoice.number = series_format(series, sequence)
    invoice.issue_date = on
    invoice.due_date = on if invoice.is_credit_note else on + datetime.timedelta(days=invoice.payment_terms_days)
    if not invoice.is_credit_note:
        invoice.payment_reference = references.payment_reference(
            scheme=invoice.company.payment_reference_scheme, sequence=sequence, series_id=series.pk
        )
    invoice.status = InvoiceStatus.ISSUED
    invoice.issued_at = issued_at
    invoice.issued_by = actor if actor is not None and actor.is_authenticated else None


def series_for(invoice: Invoice):
    company = invoice.company
    series = company.invoice_series
    if invoice.kind == InvoiceKind.CREDIT_NOTE and company.credit_note_series_id:
        series = company.credit_note_series
    if series is None:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("The company has no invoice number series. Set one on the company page first."),
        )
    return series


def invoice_event_payload(invoice: Invoice) -> dict:
    return {
        "invoice_id": invoice.pk,
        "kind": invoice.kind,
        "number": invoice.number,
        "customer": invoice.buyer.get("number", ""),
        "order_id": invoice.order_id,
        "credited_invoice_id": invoice.credited_invoice_id,
        "currency": invoice.currency,
        "net_amount": invoice.net_amount,
        "vat_amount": invoice.vat_amount,
        "payable_amount": invoice.payable_amount,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "payment_reference": invoice.payment_reference,
    }


def _orders_mark_invoiced(invoice: Invoice, *, actor: User | None, via: str) -> None:
    """An order whose every shipment is billed by an issued invoice becomes invoiced."""
    order_ids = set(
        Shipment.objects.filter(invoice_link__invoice=invoice).values_list("order_id", flat=True).distinct()
    )
    if invoice.order_id:
        order_ids.add(invoice.order_id)
    for order in Order.objects.filter(pk__in=order_ids, status=OrderStatus.SHIPPED).order_by("pk"):
        unbilled = (
            Shipment.objects.filter(order=order)
            .exclude(invoice_link__invoice__status__in=[InvoiceStatus.ISSUED, InvoiceStatus.SENT, InvoiceStatus.PAID])
            .exists()
        )
        if not unbilled:
            order_services.order_invoice(
                order=order, actor=actor, via=via, note=_("Billed by %(invoice)s") % {"invoice": invoice.number}
            )


def _schedule_documents(invoice_id: int) -> None:
    from ..tasks import invoice_render_pdf

    transaction.on_commit(lambda: invoice_render_pdf.delay(invoice_id))


@transaction.atomic
def invoice_issue(
    *, invoice: Invoice, actor: User | None, via: str = "", issue_date: datetime.date | None = None
) -> Invoice:
    """Number, date and freeze an approved invoice or credit note."""
    if actor is not None and not user_can(actor, "invoice.issue"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("Only finance may issue invoices."))
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("company", "company__invoice_series", "company__credit_note_series", "customer")
        .get(pk=invoice.pk)
    )
    if invoice.status != InvoiceStatus.APPROVED:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("%(invoice)s is %(status)s; only an approved invoice can be issued.")
            % {"invoice": invoice, "status": invoice.get_status_display()},
        )
    if not invoice.lines.exists():
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("An invoice without lines cannot be issued."))
    company = invoice.company
    series = series_for(invoice)
    on = issue_date or timezone.localdate()
    if invoice.currency != company.base_currency:
        credited = invoice.credited_invoice
        if credited is not None and credited.exchange_rate is not None:
            # A credit note reverses the invoice at the invoice's rate, so the two cancel out in kronor.
            rate = (credited.exchange_rate, credited.exchange_rate_date)
        else:
            found = exchange_rate_require(currency=invoice.currency, base_currency=company.base_currency, on=on)
            rate = (found.rate, found.date)
        rate_apply(invoice, rate=rate, base_currency=company.base_currency)
    # Taken last, just before the write, so the series row is locked for as short a time as possible.
    issue_fields_set(
        invoice, series=series, sequence=number_take(series=series), on=on, issued_at=timezone.now(), actor=actor
    )
    invoice.seller = seller_snapshot(company)
    from ..ubl import invoice_ubl

    invoice.ubl = invoice_ubl(invoice)
    invoice.save()
    audit_transition(
        instance=invoice,
        field="status",
        old=InvoiceStatus.APPROVED,
        new=InvoiceStatus.ISSUED,
        actor=actor,
        via=via,
        note=invoice.number,
    )
    event_record(
        event_type="credit_note.issued" if invoice.is_credit_note else "invoice.issued",
        aggregate_type="invoice",
        aggregate_id=invoice.pk,
        payload=invoice_event_payload(invoice),
        actor=actor,
    )
    if not invoice.is_credit_note:
        _orders_mark_invoiced(invoice, actor=actor, via=via or "invoicing")
    _schedule_documents(invoice.pk)
    return invoice


@transaction.atomic
def invoice_mark_sent(*, invoice: Invoice, actor: User | None = None, via: str = "") -> Invoice:
    """Record that the customer has been sent the invoice (the first sending moves it to sent)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.ISSUED:
        return invoice
    invoice_transition(invoice, InvoiceStatus.SENT, actor=actor, via=via, sent_at=timezone.now())
    event_record(
        event_type="invoice.sent",
        aggregate_type="invoice",
        aggregate_id=invoice.pk,
        payload={"invoice_id": invoice.pk, "number": invoice.number},
        actor=actor,
    )
    return invoice
