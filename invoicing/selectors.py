"""Invoicing's reads."""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum

from fulfilment.models import Shipment, ShipmentLine, ShipmentStatus
from orders.models import Customer, InvoicingPeriod, Order, ProductKind

from .models import (
    SERVICE_INVOICEABLE_ORDER_STATUSES,
    ExchangeRate,
    Invoice,
    InvoiceAllowanceCharge,
    InvoiceApproval,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineSource,
    InvoiceRun,
    InvoiceStatus,
)
from .services.drafting import totals_compute


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


def invoice_list_detailed() -> QuerySet[Invoice]:
    """Invoices with everything their full representation shows (the API's detail), in a fixed number of queries."""
    return Invoice.objects.select_related("customer", "order", "credited_invoice").prefetch_related(
        Prefetch(
            "lines", queryset=InvoiceLine.objects.select_related("vat_category", "credited_line").order_by("position")
        ),
        Prefetch(
            "allowance_charges", queryset=InvoiceAllowanceCharge.objects.select_related("vat_category").order_by("id")
        ),
        Prefetch(
            "approvals",
            queryset=InvoiceApproval.objects.filter(withdrawn_at__isnull=True)
            .select_related("approver")
            .order_by("at"),
        ),
        Prefetch("credit_notes", queryset=Invoice.objects.order_by("id")),
    )


def invoice_get_by_reference(*, reference: int | str) -> Invoice | None:
    """An invoice (not a credit note) by its id (an int) or its number (a string); None if there is none."""
    invoices = Invoice.objects.filter(kind=InvoiceKind.INVOICE)
    if isinstance(reference, int):
        return invoices.filter(pk=reference).first()
    return invoices.filter(number=reference).exclude(number="").order_by("-id").first()


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


def invoices_awaiting_approval_by(*, user: User) -> QuerySet[Invoice]:
    """Drafts `user` may approve: not made by them, not already approved by them (four eyes)."""
    mine = InvoiceApproval.objects.filter(invoice=OuterRef("pk"), approver=user, withdrawn_at__isnull=True)
    return (
        invoices_awaiting_approval()
        .exclude(created_by=user)
        .exclude(Exists(mine))
        .annotate(approvals_given=Count("approvals", filter=Q(approvals__withdrawn_at__isnull=True)))
    )


def invoice_totals_by_currency(invoices: QuerySet[Invoice]) -> list[dict]:
    """What a list of invoices adds up to, one row per currency (amounts in different currencies never mix)."""
    return list(
        invoices.order_by()
        .values("currency")
        .annotate(count=Count("pk"), payable=Sum("payable_amount"))
        .order_by("currency")
    )


def invoice_vat_breakdown(invoice: Invoice) -> tuple:
    """VAT per category and rate, computed as the invoice's totals were (uses the prefetched lines)."""
    totals = totals_compute(
        lines=[(line.vat_category_code, line.vat_rate, line.net_amount) for line in invoice.lines.all()],
        allowance_charges=[
            (ac.is_charge, ac.vat_category_code, ac.vat_rate, ac.amount) for ac in invoice.allowance_charges.all()
        ],
        currency=invoice.currency,
        round_to_whole_units_=False,
    )
    return totals.vat_breakdown


def invoice_shipments(invoice: Invoice) -> QuerySet[Shipment]:
    return Shipment.objects.filter(invoice_link__invoice=invoice).select_related("order").order_by("pk")


@dataclass(frozen=True)
class ComparisonRow:
    """One line of the approver's comparison: what was ordered, shipped and invoiced, at what price."""

    position: int | None
    sku: str
    description: str
    order_number: int | None
    ordered_quantity: Decimal | None
    shipped_quantity: Decimal | None
    invoiced_quantity: Decimal
    order_unit_price: Decimal | None
    invoice_unit_price: Decimal | None
    order_discount: Decimal | None
    invoice_discount: Decimal | None
    quantity_differs: bool
    price_differs: bool
    discount_differs: bool
    # "invoice": a line no order has (entered by hand); "shipment": shipped but not on the invoice.
    only_on: str = ""

    @property
    def differs(self) -> bool:
        return self.quantity_differs or self.price_differs or self.discount_differs or bool(self.only_on)


def invoice_comparison(invoice: Invoice) -> list[ComparisonRow]:
    """The invoice beside its order(s) and shipment(s), line by line, with what differs marked.

    The invoiced quantity is compared with what this invoice's shipments carried of the order line
    (with the ordered quantity when nothing was shipped: a service); the price and discount with the
    order line's. Shipped lines missing from the invoice appear with 0 invoiced.
    """
    shipped: dict[int, Decimal] = defaultdict(Decimal)
    shipment_lines = ShipmentLine.objects.filter(shipment__invoice_link__invoice=invoice).select_related(
        "order_line", "order_line__order", "order_line__product"
    )
    order_lines = {}
    for shipment_line in shipment_lines:
        shipped[shipment_line.order_line_id] += shipment_line.quantity
        order_lines[shipment_line.order_line_id] = shipment_line.order_line
    rows = []
    seen = set()
    lines = invoice.lines.select_related("order_line", "order_line__order").order_by("position")
    for line in lines:
        order_line = line.order_line
        if order_line is None:
            rows.append(
                ComparisonRow(
                    position=line.position,
                    sku=line.sku,
                    description=line.description,
                    order_number=None,
                    ordered_quantity=None,
                    shipped_quantity=None,
                    invoiced_quantity=line.quantity,
                    order_unit_price=None,
                    invoice_unit_price=line.unit_price,
                    order_discount=None,
                    invoice_discount=line.discount_percent,
                    quantity_differs=False,
                    price_differs=False,
                    discount_differs=False,
                    only_on="invoice",
                )
            )
            continue
        seen.add(order_line.pk)
        delivered = shipped.get(order_line.pk)
        expected = delivered if delivered is not None else order_line.quantity
        rows.append(
            ComparisonRow(
                position=line.position,
                sku=line.sku,
                description=line.description,
                order_number=order_line.order.number,
                ordered_quantity=order_line.quantity,
                shipped_quantity=delivered,
                invoiced_quantity=line.quantity,
                order_unit_price=order_line.unit_price,
                invoice_unit_price=line.unit_price,
                order_discount=order_line.discount_percent,
                invoice_discount=line.discount_percent,
                quantity_differs=line.quantity != expected,
                price_differs=line.unit_price != order_line.unit_price,
                discount_differs=line.discount_percent != order_line.discount_percent,
            )
        )
    for order_line_id, quantity in shipped.items():
        if order_line_id in seen:
            continue
        order_line = order_lines[order_line_id]
        rows.append(
            ComparisonRow(
                position=None,
                sku=order_line.product.sku,
                description=order_line.description,
                order_number=order_line.order.number,
                ordered_quantity=order_line.quantity,
                shipped_quantity=quantity,
                invoiced_quantity=Decimal(0),
                order_unit_price=order_line.unit_price,
                invoice_unit_price=None,
                order_discount=order_line.discount_percent,
                invoice_discount=None,
                quantity_differs=True,
                price_differs=False,
                discount_differs=False,
                only_on="shipment",
            )
        )
    return rows


def lines_credited(line_ids) -> dict[int, Decimal]:
    """How much of each invoice line is credited already, by every credit note not discarded (one query)."""
    return dict(
        InvoiceLine.objects.filter(credited_line_id__in=list(line_ids))
        .exclude(invoice__status=InvoiceStatus.DISCARDED)
        .values("credited_line_id")
        .annotate(total=Sum("quantity"))
        .values_list("credited_line_id", "total")
    )


def invoice_lines_creditable(invoice: Invoice) -> list[tuple[InvoiceLine, Decimal]]:
    """Each line of an issued invoice with how much of it can still be credited."""
    lines = list(invoice.lines.all())
    credited = lines_credited(line.pk for line in lines)
    return [(line, line.quantity - credited.get(line.pk, Decimal(0))) for line in lines]


def invoice_run_get(*, pk: int) -> InvoiceRun:
    return InvoiceRun.objects.select_related("started_by").get(pk=pk)


def invoice_run_invoices(run: InvoiceRun) -> QuerySet[Invoice]:
    return Invoice.objects.filter(run=run).select_related("customer").order_by("id")


@dataclass(frozen=True)
class ToInvoiceRow:
    """One invoice a run would make today: its shipments (or service order), customer and amount."""

    shipment_ids: tuple[int, ...]
    service_order_id: int | None
    customer: Customer
    orders: tuple[Order, ...]
    period: tuple[datetime.date, datetime.date] | None
    ship_date: datetime.date | None

    @property
    def key(self) -> str:
        if self.service_order_id is not None:
            return f"order:{self.service_order_id}"
        return "shipments:" + ",".join(str(pk) for pk in self.shipment_ids)


def to_invoice_list(*, up_to: datetime.date) -> list[ToInvoiceRow]:
    """What is shipped (or, for services, confirmed) and not billed yet, grouped as a run would bill it."""
    from .services.runs import billing_groups

    groups = billing_groups(up_to=up_to)
    shipment_ids = {pk for group in groups for pk in group.shipment_ids}
    shipments = {
        s.pk: s for s in Shipment.objects.filter(pk__in=shipment_ids).select_related("order", "order__customer")
    }
    service_orders = {
        o.pk: o
        for o in Order.objects.filter(pk__in=[g.service_order_id for g in groups if g.service_order_id]).select_related(
            "customer"
        )
    }
    rows = []
    for group in groups:
        if group.service_order_id is not None:
            order = service_orders[group.service_order_id]
            rows.append(ToInvoiceRow((), order.pk, order.customer, (order,), None, None))
            continue
        members = [shipments[pk] for pk in group.shipment_ids]
        orders = tuple({s.order_id: s.order for s in members}.values())
        rows.append(
            ToInvoiceRow(
                group.shipment_ids,
                None,
                members[0].order.customer,
                orders,
                group.period,
                max((s.ship_date for s in members if s.ship_date), default=None),
            )
        )
    return rows


# --- what is left to invoice (the invoice run and the 'To invoice' page) ---------------------------


def period_of(day: datetime.date, period: str) -> tuple[datetime.date, datetime.date]:
    if period == InvoicingPeriod.WEEK:
        start = day - datetime.timedelta(days=day.weekday())
        return start, start + datetime.timedelta(days=6)
    start = day.replace(day=1)
    next_month = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, next_month - datetime.timedelta(days=1)


@dataclass(frozen=True)
class BillingGroup:
    """What one invoice of a run will bill."""

    shipment_ids: tuple[int, ...] = ()
    service_order_id: int | None = None
    period: tuple[datetime.date, datetime.date] | None = None


def billing_groups(*, up_to: datetime.date) -> list[BillingGroup]:
    shipments = (
        Shipment.objects.filter(status=ShipmentStatus.SHIPPED, ship_date__lte=up_to, invoice_link__isnull=True)
        .values_list("pk", "ship_date", "order__customer_id", "order__customer__invoicing_period", "order__currency")
        .order_by("pk")
    )
    groups: list[BillingGroup] = []
    collective: dict[tuple, list[int]] = defaultdict(list)
    for pk, ship_date, customer_id, invoicing_period, currency in shipments:
        if invoicing_period in (InvoicingPeriod.WEEK, InvoicingPeriod.MONTH):
            period = period_of(ship_date, invoicing_period)
            if period[1] <= up_to:
                collective[(customer_id, currency, period)].append(pk)
        else:
            groups.append(BillingGroup(shipment_ids=(pk,)))
    for (_customer, _currency, period), ids in sorted(collective.items(), key=lambda item: item[1][0]):
        groups.append(BillingGroup(shipment_ids=tuple(ids), period=period))
    billed_services = InvoiceLine.objects.filter(source=InvoiceLineSource.SERVICE).values("order_line_id")
    service_orders = (
        Order.objects.filter(
            status__in=SERVICE_INVOICEABLE_ORDER_STATUSES,
            order_date__lte=up_to,
            lines__product__kind=ProductKind.SERVICE,
        )
        .exclude(lines__pk__in=billed_services)
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")
    )
    groups.extend(BillingGroup(service_order_id=pk) for pk in service_orders)
    return groups
