"""Approval (attest) before an invoice leaves: four eyes, automatic below an amount, two above another.

How many approvals a draft needs is decided once, when it is made (and again if it goes back for
changes), from its payable amount in the company's base currency:
- below the customer's auto-approval amount (in the customer's currency), else the channel's, else
  the company's: none, it is approved automatically;
- at or above the company's "second approval from": two, by two different people;
- otherwise one.
Nobody approves a document they made; the same person cannot approve twice.
"""

from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from o2c.common.audit import audit_record
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditAction
from o2c.common.roles import user_can
from o2c.outbox.services import event_record

from ..models import (
    ChannelAutoApproval,
    Invoice,
    InvoiceApproval,
    InvoiceStatus,
    InvoicingSettings,
)
from .drafting import invoicing_settings_for
from .fx import exchange_rate_on
from .transitions import invoice_transition


def approvals_required(
    *,
    payable: Decimal,
    payable_in_base: Decimal,
    customer_limit: Decimal | None,
    channel_limit: Decimal | None,
    settings: InvoicingSettings,
) -> int:
    """The rule (module docstring), on amounts and limits already looked up; the batch path shares it."""
    if customer_limit is not None:
        auto = payable < customer_limit
    else:
        auto = payable_in_base < (channel_limit if channel_limit is not None else settings.auto_approve_below)
    if auto:
        return 0
    if settings.second_approval_from is not None and payable_in_base >= settings.second_approval_from:
        return 2
    return 1


def amount_in_base(invoice: Invoice) -> Decimal:
    """The payable amount in the company's currency at today's rate (or as is, if no rate is known)."""
    base = invoice.company.base_currency
    if invoice.currency == base:
        return invoice.payable_amount
    rate = exchange_rate_on(currency=invoice.currency, base_currency=base, on=timezone.localdate())
    return invoice.payable_amount * rate.rate if rate else invoice.payable_amount


def approvals_required_for(invoice: Invoice) -> int:
    channel = invoice.order.channel if invoice.order_id else None
    return approvals_required(
        payable=invoice.payable_amount,
        payable_in_base=amount_in_base(invoice),
        customer_limit=invoice.customer.auto_approve_invoices_below,
        channel_limit=ChannelAutoApproval.objects.filter(channel=channel).values_list("below", flat=True).first()
        if channel
        else None,
        settings=invoicing_settings_for(invoice.company),
    )


def invoice_approval_requirement_set(*, invoice: Invoice, actor: User | None, via: str = "") -> Invoice:
    """Decide how many approvals a fresh draft needs; approve it at once when it needs none."""
    invoice.approvals_required = approvals_required_for(invoice)
    invoice.save(update_fields=["approvals_required"])
    if invoice.approvals_required == 0:
        InvoiceApproval.objects.create(invoice=invoice, approver=None, automatic=True, note=_("Below the limit"))
        invoice_transition(
            invoice, InvoiceStatus.APPROVED, actor=None, via=via or "system", why=_("Approved automatically")
        )
    return invoice


def active_approvals(invoice: Invoice):
    return invoice.approvals.filter(withdrawn_at__isnull=True)


@transaction.atomic
def invoice_approve(*, invoice: Invoice, actor: User, via: str = "", note: str = "") -> Invoice:
    """One finance user's attest. The last one needed makes the draft approved."""
    if not user_can(actor, "invoice.approve"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("You may not approve invoices."))
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("customer", "company").get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.DRAFT:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("%(invoice)s is %(status)s, not waiting for approval.")
            % {"invoice": invoice, "status": invoice.get_status_display()},
        )
    if invoice.created_by_id is not None and invoice.created_by_id == actor.pk:
        raise ApplicationError(
            code=ErrorCode.PERMISSION_DENIED,
            message=_("You made this draft; another finance user must approve it."),
        )
    if active_approvals(invoice).filter(approver=actor).exists():
        raise ApplicationError(
            code=ErrorCode.CONFLICT, message=_("You have approved it already; it needs another approver.")
        )
    if not invoice.lines.exists():
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("An invoice without lines cannot be approved."))
    InvoiceApproval.objects.create(invoice=invoice, approver=actor, note=(note or "").strip()[:200])
    count = active_approvals(invoice).count()
    audit_record(
        instance=invoice,
        action=AuditAction.CHANGE,
        changes={"approvals": [count - 1, count]},
        actor=actor,
        via=via,
        note=note,
    )
    if count >= invoice.approvals_required:
        invoice_transition(invoice, InvoiceStatus.APPROVED, actor=actor, via=via, why=note)
        event_record(
            event_type="invoice.approved",
            aggregate_type="invoice",
            aggregate_id=invoice.pk,
            payload={"invoice_id": invoice.pk, "customer": invoice.customer.number, "amount": invoice.payable_amount},
            actor=actor,
        )
    return invoice


@transaction.atomic
def invoice_reopen(*, invoice: Invoice, actor: User, reason: str, via: str = "") -> Invoice:
    """Send an approved, not yet issued, invoice back to draft for changes; its approvals lapse."""
    if not user_can(actor, "invoice.edit"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("Only finance may change invoices."))
    if not (reason or "").strip():
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("Say why the invoice goes back to draft."))
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.APPROVED:
        raise ApplicationError(code=ErrorCode.INVALID_STATE, message=_("Only an approved invoice can be reopened."))
    active_approvals(invoice).update(withdrawn_at=timezone.now())
    invoice_transition(invoice, InvoiceStatus.DRAFT, actor=actor, via=via, why=reason)
    # Whoever reopens it answers for the changes: they may not approve it again themselves.
    invoice.created_by = actor
    invoice.approvals_required = max(1, approvals_required_for(invoice))
    invoice.save(update_fields=["created_by", "approvals_required"])
    return invoice
