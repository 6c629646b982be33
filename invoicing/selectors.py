"""Invoicing's reads."""

import datetime

from django.db.models import Q, QuerySet

from .models import ExchangeRate, Invoice, InvoiceRun, InvoiceStatus


def invoice_list(
    *,
    search: str = "",
    customer_id: int | None = None,
    status: str = "",
    kind: str = "",
    order_id: int | None = None,
    issued_from: datetime.date | None = None,
    issued_to: datetime.date | None = None,
    due_from: datetime.date | None = None,
    due_to: datetime.date | None = None,
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.select_related("customer", "order", "credited_invoice")
    if search:
        invoices = invoices.filter(
            Q(number__icontains=search)
            | Q(customer__name__icontains=search)
            | Q(customer__number__iexact=search)
            | Q(payment_reference=search)
            | Q(buyer_reference__icontains=search)
            | Q(order_reference__icontains=search)
        )
    if customer_id:
        invoices = invoices.filter(customer_id=customer_id)
    if status:
        invoices = invoices.filter(status=status)
    if kind:
        invoices = invoices.filter(kind=kind)
    if order_id:
        invoices = invoices.filter(Q(order_id=order_id) | Q(lines__order_line__order_id=order_id)).distinct()
    if issued_from:
        invoices = invoices.filter(issue_date__gte=issued_from)
    if issued_to:
        invoices = invoices.filter(issue_date__lte=issued_to)
    if due_from:
        invoices = invoices.filter(due_date__gte=due_from)
    if due_to:
        invoices = invoices.filter(due_date__lte=due_to)
    return invoices.order_by("-id")


def invoice_get(*, pk: int) -> Invoice:
    return (
        Invoice.objects.select_related("customer", "order", "credited_invoice", "company", "created_by", "issued_by")
        .prefetch_related("lines", "allowance_charges", "approvals__approver", "sends", "credit_notes")
        .get(pk=pk)
    )


def invoices_awaiting_approval() -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(status=InvoiceStatus.DRAFT)
        .select_related("customer", "order", "created_by")
        .order_by("id")
    )


def invoice_run_list() -> QuerySet[InvoiceRun]:
    return InvoiceRun.objects.select_related("started_by").order_by("-id")


def exchange_rate_list(*, currency: str = "") -> QuerySet[ExchangeRate]:
    rates = ExchangeRate.objects.select_related("imported_by")
    if currency:
        rates = rates.filter(currency=currency)
    return rates.order_by("-date", "currency")
