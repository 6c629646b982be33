"""Credit notes: the only way to correct an issued invoice, in full or in part.

A credit note copies the credited lines' prices, discounts and VAT rates from the invoice (never
today's), so crediting everything gives exactly the invoice's amounts back. No line can be credited
beyond what was invoiced, counting every credit note that is not discarded. Credit notes go through
the same approval and numbering as invoices (their own series if the company has one).
"""

from collections import defaultdict
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from fulfilment.models import ReturnAuthorization, ReturnStatus
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.money import line_net_amount
from o2c.common.roles import user_can

from ..models import (
    ISSUED_STATUSES,
    Invoice,
    InvoiceAllowanceCharge,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineSource,
    InvoiceStatus,
)
from ..selectors import invoice_lines_creditable, lines_credited
from .drafting import _finish_draft, _new_invoice


@transaction.atomic
def credit_note_create(
    *,
    invoice: Invoice,
    reason: str,
    actor: User | None,
    lines: list[tuple[InvoiceLine, Decimal]] | None = None,
    via: str = "",
    rma: ReturnAuthorization | None = None,
) -> Invoice:
    """Draft a credit note for `invoice`: for the given (line, quantity) pairs, or in full when None."""
    if actor is not None and not user_can(actor, "credit_note.create"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("Only finance may make credit notes."))
    # Lock the invoice: two credit notes drafted at once cannot both credit the same quantity.
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("company", "customer", "order")
        .get(pk=invoice.pk)
    )
    if invoice.kind != InvoiceKind.INVOICE or invoice.status not in ISSUED_STATUSES:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE, message=_("Only an issued invoice can be credited; a draft can be changed.")
        )
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("Say why the invoice is credited."))
    full = lines is None
    creditable = {line.pk: quantity for line, quantity in invoice_lines_creditable(invoice)}
    if full:
        lines = [(line, creditable[line.pk]) for line in invoice.lines.all()]
        lines = [(line, quantity) for line, quantity in lines if quantity > 0]
        if not lines:
            raise ApplicationError(
                code=ErrorCode.CONFLICT, message=_("Everything on this invoice is credited already.")
            )
    if not lines:
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("Choose at least one line to credit."))
    errors = []
    seen = set()
    for line, quantity in lines:
        if line.invoice_id != invoice.pk:
            errors.append(_("Line %(id)s is not on %(invoice)s.") % {"id": line.pk, "invoice": invoice})
            continue
        if line.pk in seen:
            errors.append(_("Line %(n)d is listed twice.") % {"n": line.position})
            continue
        seen.add(line.pk)
        if quantity is None or quantity <= 0:
            errors.append(_("Line %(n)d: the quantity must be more than 0.") % {"n": line.position})
        elif quantity > creditable[line.pk]:
            errors.append(
                _("Line %(n)d: at most %(max)s can be credited.")
                % {"n": line.position, "max": creditable[line.pk].normalize()}
            )
    if errors:
        raise ApplicationError(code=ErrorCode.VALIDATION, message=" ".join(errors))
    credit_note = _new_invoice(
        company=invoice.company,
        customer=invoice.customer,
        currency=invoice.currency,
        actor=actor,
        order=invoice.order,
        kind=InvoiceKind.CREDIT_NOTE,
        credited_invoice=invoice,
        rma=rma,
        reason=reason[:200],
        delivery_date=invoice.delivery_date,
    )
    # The buyer as invoiced, and the invoice's own references.
    credit_note.buyer = invoice.buyer
    credit_note.buyer_reference = invoice.buyer_reference
    credit_note.order_reference = invoice.order_reference
    credit_note.payment_terms_days = 0
    credit_note.early_payment_discount_percent = Decimal("0")
    credit_note.early_payment_discount_days = 0
    credit_note.save(
        update_fields=[
            "buyer",
            "buyer_reference",
            "order_reference",
            "payment_terms_days",
            "early_payment_discount_percent",
            "early_payment_discount_days",
        ]
    )
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                invoice=credit_note,
                position=position,
                source=InvoiceLineSource.CREDIT,
                credited_line=line,
                order_line=line.order_line,
                product=line.product,
                sku=line.sku,
                description=line.description,
                quantity=quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                net_amount=line.net_amount
                if quantity == line.quantity
                else line_net_amount(
                    quantity=quantity,
                    unit_price=line.unit_price,
                    discount_percent=line.discount_percent,
                    currency=invoice.currency,
                ),
                vat_category=line.vat_category,
                vat_category_code=line.vat_category_code,
                vat_rate=line.vat_rate,
                vat_exemption_reason=line.vat_exemption_reason,
                vat_exemption_reason_code=line.vat_exemption_reason_code,
                delivery_date=line.delivery_date,
            )
            for position, (line, quantity) in enumerate(lines, start=1)
        ]
    )
    already_credited = invoice.credit_notes.exclude(pk=credit_note.pk).exclude(status=InvoiceStatus.DISCARDED)
    if full and not already_credited.exists():
        InvoiceAllowanceCharge.objects.bulk_create(
            [
                InvoiceAllowanceCharge(
                    invoice=credit_note,
                    is_charge=ac.is_charge,
                    reason=ac.reason,
                    amount=ac.amount,
                    vat_category=ac.vat_category,
                    vat_category_code=ac.vat_category_code,
                    vat_rate=ac.vat_rate,
                )
                for ac in invoice.allowance_charges.all()
            ]
        )
    return _finish_draft(credit_note, actor=actor, via=via, note=reason)


@transaction.atomic
def credit_notes_for_return(*, rma: ReturnAuthorization, actor: User | None, via: str = "") -> list[Invoice]:
    """Draft credit notes for what a received return brought back, one per invoice that billed it.

    Returned goods that were never invoiced need no credit note (the next invoice bills only what
    was shipped and kept... or nothing): they are skipped.
    """
    rma = ReturnAuthorization.objects.select_related("order").get(pk=rma.pk)
    if rma.status != ReturnStatus.RECEIVED:
        return []
    if Invoice.objects.filter(rma=rma).exclude(status=InvoiceStatus.DISCARDED).exists():
        return []
    wanted: dict[int, Decimal] = defaultdict(Decimal)
    for line in rma.lines.all():
        received = line.restock_quantity + line.scrap_quantity
        if received > 0:
            wanted[line.order_line_id] += received
    by_invoice: dict[int, list[tuple[InvoiceLine, Decimal]]] = defaultdict(list)
    invoice_lines = (
        InvoiceLine.objects.filter(
            order_line_id__in=wanted,
            invoice__kind=InvoiceKind.INVOICE,
            invoice__status__in=ISSUED_STATUSES,
        )
        .select_related("invoice")
        .order_by("-invoice_id", "position")
    )
    invoice_lines = list(invoice_lines)
    credited = lines_credited(line.pk for line in invoice_lines)
    # Credit the latest invoices first: returns follow the most recent delivery.
    for line in invoice_lines:
        remaining = wanted[line.order_line_id]
        if remaining <= 0:
            continue
        quantity = min(remaining, line.quantity - credited.get(line.pk, Decimal(0)))
        if quantity > 0:
            by_invoice[line.invoice_id].append((line, quantity))
            wanted[line.order_line_id] -= quantity
    reason = _("Return %(rma)s: %(reason)s") % {"rma": rma.number, "reason": rma.reason}
    return [
        credit_note_create(
            invoice=Invoice.objects.get(pk=invoice_id), reason=reason, actor=None, lines=pairs, via=via, rma=rma
        )
        for invoice_id, pairs in sorted(by_invoice.items())
    ]
