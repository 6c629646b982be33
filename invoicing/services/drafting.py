"""Drafting invoices: from shipments, from confirmed services, or by hand; and their totals.

Nobody retypes an order: lines are copied from the order lines (price, discount, VAT) for the
quantities that were shipped. A draft can still be corrected by finance; from issue on, nothing.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from fulfilment.models import Shipment, ShipmentLine, ShipmentStatus
from o2c.common.audit import audit_record, snapshot
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditAction
from o2c.common.money import (
    Currency,
    document_totals,
    line_net_amount,
    round_to_whole_units,
    validate_money_precision,
)
from o2c.common.roles import user_can
from orders.models import (
    Company,
    Customer,
    CustomerStatus,
    Order,
    OrderLine,
    Product,
    ProductKind,
    Unit,
    VatCategory,
    VatRate,
)

from ..models import (
    EDITABLE_STATUSES,
    INVOICE_TRANSITIONS,
    SERVICE_INVOICEABLE_ORDER_STATUSES,
    Invoice,
    InvoiceAllowanceCharge,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineSource,
    InvoiceRun,
    InvoiceShipment,
    InvoiceStatus,
    InvoicingSettings,
)
from .parties import buyer_snapshot, seller_snapshot
from .transitions import invoice_transition

# Currencies whose payable total may be rounded to whole units (öresavrundning): kronor only.
WHOLE_UNIT_ROUNDING_CURRENCIES = frozenset({Currency.SEK, Currency.NOK})
MAX_LINES = 1000


def company_require() -> Company:
    company = Company.objects.order_by("pk").first()
    if company is None:
        raise ApplicationError(code=ErrorCode.INVALID_STATE, message=_("Set up the company before invoicing."))
    return company


def invoicing_settings_for(company: Company) -> InvoicingSettings:
    settings, _created = InvoicingSettings.objects.get_or_create(company=company)
    return settings


def vat_rate_on(category: VatCategory, on: datetime.date) -> Decimal:
    rate = (
        VatRate.objects.filter(category=category, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise ApplicationError(
            code=ErrorCode.VALIDATION,
            message=_("VAT category %(code)s has no rate on %(date)s.") % {"code": category.code, "date": on},
        )
    return rate


# --- totals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceTotals:
    net_amount: Decimal
    allowance_amount: Decimal
    charge_amount: Decimal
    vat_amount: Decimal
    gross_amount: Decimal
    rounding_amount: Decimal
    payable_amount: Decimal
    vat_breakdown: tuple


def totals_compute(
    *,
    lines: Iterable[tuple[str, Decimal, Decimal]],
    allowance_charges: Iterable[tuple[bool, str, Decimal, Decimal]],
    currency: str,
    round_to_whole_units_: bool,
) -> InvoiceTotals:
    """The one computation of an invoice's totals (docs/architecture.md, "Invoice totals").

    `lines` are (category code, rate, rounded line net); `allowance_charges` are (is_charge, code,
    rate, amount). VAT is computed once per category and rate on that group's sum of line nets less
    its allowances plus its charges (EN 16931 BR-CO-17), rounded half up. With whole-unit rounding
    (SEK, NOK), the payable total is rounded to whole kronor and the difference is the rounding line.
    """
    lines = list(lines)
    allowance_charges = list(allowance_charges)
    net = sum((net for _c, _r, net in lines), Decimal(0))
    allowances = sum((a for is_charge, _c, _r, a in allowance_charges if not is_charge), Decimal(0))
    charges = sum((a for is_charge, _c, _r, a in allowance_charges if is_charge), Decimal(0))
    grouped = lines + [
        (code, rate, amount if is_charge else -amount) for is_charge, code, rate, amount in allowance_charges
    ]
    totals = document_totals(lines=grouped, currency=currency)
    gross = totals.gross_amount
    payable = gross
    if round_to_whole_units_ and currency in WHOLE_UNIT_ROUNDING_CURRENCIES:
        payable = round_to_whole_units(gross)
    zero = Decimal("0.00")
    return InvoiceTotals(
        net_amount=net + zero,
        allowance_amount=allowances + zero,
        charge_amount=charges + zero,
        vat_amount=totals.vat_amount,
        gross_amount=gross,
        rounding_amount=payable - gross + zero,
        payable_amount=payable,
        vat_breakdown=totals.vat_breakdown,
    )


def invoice_totals(invoice: Invoice) -> InvoiceTotals:
    settings = invoicing_settings_for(invoice.company)
    return totals_compute(
        lines=[(line.vat_category_code, line.vat_rate, line.net_amount) for line in invoice.lines.all()],
        allowance_charges=[
            (ac.is_charge, ac.vat_category_code, ac.vat_rate, ac.amount) for ac in invoice.allowance_charges.all()
        ],
        currency=invoice.currency,
        round_to_whole_units_=settings.round_to_whole_units,
    )


def invoice_recalculate(invoice: Invoice) -> Invoice:
    """Store the totals of a draft's lines on the draft (called by every draft change)."""
    totals = invoice_totals(invoice)
    invoice.net_amount = totals.net_amount
    invoice.allowance_amount = totals.allowance_amount
    invoice.charge_amount = totals.charge_amount
    invoice.vat_amount = totals.vat_amount
    invoice.gross_amount = totals.gross_amount
    invoice.rounding_amount = totals.rounding_amount
    invoice.payable_amount = totals.payable_amount
    invoice.reverse_charge = any(
        code == "AE" for code in invoice.lines.values_list("vat_category_code", flat=True).distinct()
    )
    invoice.save(
        update_fields=[
            "net_amount",
            "allowance_amount",
            "charge_amount",
            "vat_amount",
            "gross_amount",
            "rounding_amount",
            "payable_amount",
            "reverse_charge",
        ]
    )
    return invoice


# --- making drafts ------------------------------------------------------------------------------


def _line_from_order_line(
    *, invoice: Invoice, position: int, order_line: OrderLine, quantity: Decimal, source: str, **links
) -> InvoiceLine:
    category = order_line.vat_category
    return InvoiceLine(
        invoice=invoice,
        position=position,
        source=source,
        order_line=order_line,
        product=order_line.product,
        sku=order_line.product.sku,
        description=order_line.description,
        quantity=quantity,
        unit=order_line.unit,
        unit_price=order_line.unit_price,
        discount_percent=order_line.discount_percent,
        net_amount=line_net_amount(
            quantity=quantity,
            unit_price=order_line.unit_price,
            discount_percent=order_line.discount_percent,
            currency=invoice.currency,
        ),
        vat_category=category,
        vat_category_code=category.uncl5305_code,
        vat_rate=order_line.vat_rate,
        vat_exemption_reason=category.exemption_reason,
        vat_exemption_reason_code=category.exemption_reason_code,
        **links,
    )


def _new_invoice(
    *,
    company: Company,
    customer: Customer,
    currency: str,
    actor: User | None,
    order: Order | None = None,
    kind: str = InvoiceKind.INVOICE,
    run: InvoiceRun | None = None,
    **fields,
) -> Invoice:
    return Invoice.objects.create(
        company=company,
        kind=kind,
        customer=customer,
        order=order,
        run=run,
        currency=currency,
        language=customer.language,
        payment_terms_days=customer.payment_terms_days,
        early_payment_discount_percent=customer.early_payment_discount_percent,
        early_payment_discount_days=customer.early_payment_discount_days,
        buyer_reference=(order.customer_reference if order else "")[:100],
        order_reference=(order.external_reference or str(order.number) if order else "")[:100],
        seller=seller_snapshot(company),
        buyer=buyer_snapshot(customer),
        created_by=actor if actor is not None and actor.is_authenticated else None,
        **fields,
    )


# What the audit trail records of a new draft: its facts, not the seller and buyer snapshots (the
# invoice page shows those) nor the empty issue fields.
AUDITED_ON_CREATE = [
    "kind",
    "status",
    "customer",
    "order",
    "credited_invoice",
    "run",
    "currency",
    "delivery_date",
    "payment_terms_days",
    "order_reference",
    "reason",
    "net_amount",
    "vat_amount",
    "rounding_amount",
    "payable_amount",
]


def invoice_created_changes(invoice: Invoice) -> dict:
    return {
        name: [None, value] for name, value in snapshot(invoice, AUDITED_ON_CREATE).items() if value not in (None, "")
    }


def _finish_draft(invoice: Invoice, *, actor: User | None, via: str, note: str = "") -> Invoice:
    from .approval import invoice_approval_requirement_set

    invoice_recalculate(invoice)
    audit_record(
        instance=invoice,
        action=AuditAction.CREATE,
        changes=invoice_created_changes(invoice),
        actor=actor,
        via=via,
        note=note,
    )
    return invoice_approval_requirement_set(invoice=invoice, actor=actor, via=via)


def _shipments_lock(shipment_ids: list[int]) -> list[Shipment]:
    # Lock in primary-key order so that two runs over overlapping shipments cannot deadlock.
    return list(
        Shipment.objects.select_for_update(of=("self",))
        .select_related("order", "order__customer")
        .filter(pk__in=shipment_ids)
        .order_by("pk")
    )


@transaction.atomic
def invoice_draft_from_shipments(
    *,
    shipment_ids: list[int],
    actor: User | None,
    via: str = "",
    run: InvoiceRun | None = None,
    period: tuple[datetime.date, datetime.date] | None = None,
) -> Invoice:
    """One draft billing the given shipped shipments of one customer (one order, or a collective invoice).

    A shipment is billed once, ever: the InvoiceShipment row is unique per shipment, so a repeated
    or concurrent attempt fails instead of billing twice.
    """
    shipments = _shipments_lock(shipment_ids)
    if not shipments or len(shipments) != len(set(shipment_ids)):
        raise ApplicationError(code=ErrorCode.NOT_FOUND, message=_("Shipment not found."))
    customers = {s.order.customer_id for s in shipments}
    if len(customers) != 1:
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("One invoice bills one customer's shipments."))
    for shipment in shipments:
        if shipment.status != ShipmentStatus.SHIPPED:
            raise ApplicationError(
                code=ErrorCode.INVALID_STATE,
                message=_("Shipment %(id)s has not left the warehouse yet.") % {"id": shipment.pk},
            )
    already = InvoiceShipment.objects.filter(shipment__in=shipments).select_related("invoice").first()
    if already is not None:
        raise ApplicationError(
            code=ErrorCode.CONFLICT,
            message=_("Shipment %(id)s is already billed by %(invoice)s.")
            % {"id": already.shipment_id, "invoice": already.invoice},
            extra={"invoice_id": already.invoice_id},
        )
    customer = shipments[0].order.customer
    orders = {s.order_id: s.order for s in shipments}
    currencies = {o.currency for o in orders.values()}
    if len(currencies) != 1:
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("The orders are in different currencies."))
    company = company_require()
    single_order = next(iter(orders.values())) if len(orders) == 1 else None
    ship_dates = [s.ship_date for s in shipments if s.ship_date]
    invoice = _new_invoice(
        company=company,
        customer=customer,
        currency=currencies.pop(),
        actor=actor,
        order=single_order,
        run=run,
        delivery_date=max(ship_dates) if ship_dates else None,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
    )
    InvoiceShipment.objects.bulk_create([InvoiceShipment(invoice=invoice, shipment=s) for s in shipments])
    lines = []
    for position, shipment_line in enumerate(_shipment_lines([s.pk for s in shipments]), start=1):
        lines.append(
            _line_from_order_line(
                invoice=invoice,
                position=position,
                order_line=shipment_line.order_line,
                quantity=shipment_line.quantity,
                source=InvoiceLineSource.SHIPMENT,
                shipment_line=shipment_line,
                delivery_date=shipment_line.shipment.ship_date,
            )
        )
    InvoiceLine.objects.bulk_create(lines)
    return _finish_draft(invoice, actor=actor, via=via)


def _shipment_lines(shipment_ids: list[int]) -> QuerySet[ShipmentLine]:
    return (
        ShipmentLine.objects.filter(shipment_id__in=shipment_ids, quantity__gt=0)
        .select_related("shipment", "order_line", "order_line__product", "order_line__vat_category")
        .order_by("shipment_id", "order_line__position", "pk")
    )


@transaction.atomic
def invoice_draft_for_services(
    *, order: Order, actor: User | None, via: str = "", run: InvoiceRun | None = None
) -> Invoice | None:
    """A draft billing a confirmed order's service lines (services are invoiced on confirmation)."""
    order = Order.objects.select_for_update(of=("self",)).select_related("customer").get(pk=order.pk)
    if order.status not in SERVICE_INVOICEABLE_ORDER_STATUSES:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("Order %(number)s is not confirmed.") % {"number": order.number},
        )
    lines = list(
        order.lines.filter(product__kind=ProductKind.SERVICE)
        .exclude(pk__in=InvoiceLine.objects.filter(source=InvoiceLineSource.SERVICE).values("order_line_id"))
        .select_related("product", "vat_category")
        .order_by("position")
    )
    if not lines:
        return None
    invoice = _new_invoice(
        company=company_require(),
        customer=order.customer,
        currency=order.currency,
        actor=actor,
        order=order,
        run=run,
        delivery_date=timezone.localdate(),
    )
    InvoiceLine.objects.bulk_create(
        [
            _line_from_order_line(
                invoice=invoice,
                position=position,
                order_line=line,
                quantity=line.quantity,
                source=InvoiceLineSource.SERVICE,
            )
            for position, line in enumerate(lines, start=1)
        ]
    )
    return _finish_draft(invoice, actor=actor, via=via)


@dataclass
class ManualLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_category: VatCategory
    product: Product | None = None
    unit: str = Unit.PIECE
    discount_percent: Decimal = Decimal("0")


def _require_finance(actor: User | None, capability: str = "invoice.edit") -> None:
    if actor is not None and not user_can(actor, capability):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("Only finance may change invoices."))


def _manual_line(invoice: Invoice, position: int, line: ManualLine, on: datetime.date) -> InvoiceLine:
    errors = []
    if line.quantity is None or line.quantity <= 0:
        errors.append(_("Line %(n)d: the quantity must be more than 0.") % {"n": position})
    if line.unit_price is None or line.unit_price < 0:
        errors.append(_("Line %(n)d: the unit price cannot be negative.") % {"n": position})
    else:
        try:
            validate_money_precision(line.unit_price, invoice.currency)
        except Exception as exc:  # noqa: BLE001 - a ValidationError's message, with the line number
            errors.append(_("Line %(n)d: %(error)s") % {"n": position, "error": " ".join(exc.messages)})
    if not (line.description or "").strip():
        errors.append(_("Line %(n)d: a description is required.") % {"n": position})
    if not Decimal(0) <= (line.discount_percent or 0) <= Decimal(100):
        errors.append(_("Line %(n)d: the discount is between 0 and 100 %%.") % {"n": position})
    if errors:
        raise ApplicationError(code=ErrorCode.VALIDATION, message=" ".join(errors))
    category = line.vat_category
    return InvoiceLine(
        invoice=invoice,
        position=position,
        source=InvoiceLineSource.MANUAL,
        product=line.product,
        sku=line.product.sku if line.product else "",
        description=line.description.strip()[:200],
        quantity=line.quantity,
        unit=line.unit,
        unit_price=line.unit_price,
        discount_percent=line.discount_percent,
        net_amount=line_net_amount(
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            currency=invoice.currency,
        ),
        vat_category=category,
        vat_category_code=category.uncl5305_code,
        vat_rate=vat_rate_on(category, on),
        vat_exemption_reason=category.exemption_reason,
        vat_exemption_reason_code=category.exemption_reason_code,
        delivery_date=on,
    )


@transaction.atomic
def invoice_draft_manual(
    *,
    customer: Customer,
    lines: list[ManualLine],
    actor: User | None,
    via: str = "",
    delivery_date: datetime.date | None = None,
    buyer_reference: str = "",
    note: str = "",
) -> Invoice:
    """Finance bills something no order covers (a fee, a one-off service)."""
    _require_finance(actor)
    if customer.status == CustomerStatus.BLOCKED:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE, message=_("Customer %(number)s is blocked.") % {"number": customer.number}
        )
    if not lines:
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("An invoice needs at least one line."))
    if len(lines) > MAX_LINES:
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("At most %(n)d lines.") % {"n": MAX_LINES})
    on = delivery_date or timezone.localdate()
    invoice = _new_invoice(
        company=company_require(),
        customer=customer,
        currency=customer.currency,
        actor=actor,
        delivery_date=on,
        note=note,
    )
    invoice.buyer_reference = buyer_reference[:100]
    invoice.save(update_fields=["buyer_reference"])
    InvoiceLine.objects.bulk_create([_manual_line(invoice, n, line, on) for n, line in enumerate(lines, start=1)])
    return _finish_draft(invoice, actor=actor, via=via)


def _draft_lock(invoice: Invoice) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status not in EDITABLE_STATUSES:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("%(invoice)s is %(status)s; only drafts can be changed.")
            % {"invoice": invoice, "status": invoice.get_status_display()},
        )
    return invoice


@transaction.atomic
def invoice_line_add(*, invoice: Invoice, line: ManualLine, actor: User | None, via: str = "") -> InvoiceLine:
    _require_finance(actor)
    invoice = _draft_lock(invoice)
    position = (invoice.lines.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    new = _manual_line(invoice, position, line, invoice.delivery_date or timezone.localdate())
    new.save()
    invoice_recalculate(invoice)
    audit_record(
        instance=invoice,
        action=AuditAction.CHANGE,
        changes={"lines": [None, f"+ {new.description} × {new.quantity}"]},
        actor=actor,
        via=via,
    )
    return new


@transaction.atomic
def invoice_line_remove(*, line: InvoiceLine, actor: User | None, via: str = "") -> Invoice:
    _require_finance(actor)
    invoice = _draft_lock(line.invoice)
    line = invoice.lines.get(pk=line.pk)
    if invoice.lines.count() == 1:
        raise ApplicationError(
            code=ErrorCode.VALIDATION, message=_("An invoice needs at least one line; discard the draft instead.")
        )
    description = f"- {line.description} × {line.quantity}"
    line.delete()
    invoice_recalculate(invoice)
    audit_record(
        instance=invoice, action=AuditAction.CHANGE, changes={"lines": [description, None]}, actor=actor, via=via
    )
    return invoice


@transaction.atomic
def invoice_line_update(
    *, line: InvoiceLine, actor: User | None, via: str = "", quantity=None, unit_price=None, discount_percent=None
) -> InvoiceLine:
    """Correct a draft line's quantity, price or discount before approval."""
    _require_finance(actor)
    invoice = _draft_lock(line.invoice)
    line = invoice.lines.get(pk=line.pk)
    before = {
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price),
        "discount": str(line.discount_percent),
    }
    candidate = ManualLine(
        description=line.description,
        quantity=line.quantity if quantity is None else Decimal(quantity),
        unit_price=line.unit_price if unit_price is None else Decimal(unit_price),
        discount_percent=line.discount_percent if discount_percent is None else Decimal(discount_percent),
        vat_category=line.vat_category,
    )
    checked = _manual_line(invoice, line.position, candidate, invoice.delivery_date or timezone.localdate())
    line.quantity, line.unit_price, line.discount_percent = (
        candidate.quantity,
        candidate.unit_price,
        candidate.discount_percent,
    )
    line.net_amount = checked.net_amount
    line.save(update_fields=["quantity", "unit_price", "discount_percent", "net_amount"])
    invoice_recalculate(invoice)
    after = {"quantity": str(line.quantity), "unit_price": str(line.unit_price), "discount": str(line.discount_percent)}
    audit_record(
        instance=invoice,
        action=AuditAction.CHANGE,
        changes={f"line {line.position} {k}": [before[k], after[k]] for k in before if before[k] != after[k]},
        actor=actor,
        via=via,
    )
    return line


@transaction.atomic
def invoice_allowance_charge_add(
    *,
    invoice: Invoice,
    is_charge: bool,
    reason: str,
    amount: Decimal,
    vat_category: VatCategory,
    actor: User | None,
    via: str = "",
) -> InvoiceAllowanceCharge:
    """A document-level discount or charge (freight, a bonus) with its VAT category."""
    _require_finance(actor)
    invoice = _draft_lock(invoice)
    if amount is None or amount <= 0:
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("The amount must be more than 0."))
    validate_money_precision(amount, invoice.currency)
    if not (reason or "").strip():
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("Say what the allowance or charge is for."))
    item = InvoiceAllowanceCharge.objects.create(
        invoice=invoice,
        is_charge=is_charge,
        reason=reason.strip()[:100],
        amount=amount,
        vat_category=vat_category,
        vat_category_code=vat_category.uncl5305_code,
        vat_rate=vat_rate_on(vat_category, invoice.delivery_date or timezone.localdate()),
    )
    invoice_recalculate(invoice)
    audit_record(
        instance=invoice,
        action=AuditAction.CHANGE,
        changes={"charges" if is_charge else "allowances": [None, f"{item.reason} {item.amount}"]},
        actor=actor,
        via=via,
    )
    return item


@transaction.atomic
def invoice_discard(*, invoice: Invoice, reason: str, actor: User | None, via: str = "") -> Invoice:
    """Throw a draft away. Its shipments become billable again; the draft stays, emptied, in the trail."""
    _require_finance(actor)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if InvoiceStatus.DISCARDED not in INVOICE_TRANSITIONS[InvoiceStatus(invoice.status)]:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("%(invoice)s is %(status)s and cannot be discarded; issue a credit note instead.")
            % {"invoice": invoice, "status": invoice.get_status_display()},
        )
    if not (reason or "").strip():
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("Say why the draft is discarded."))
    # Drafts are not accounting records: their lines go, so what they billed can be billed again.
    invoice.lines.all().delete()
    invoice.shipment_links.all().delete()
    note = (invoice.note + "\n" if invoice.note else "") + reason.strip()
    return invoice_transition(invoice, InvoiceStatus.DISCARDED, actor=actor, via=via, why=reason, note=note)
