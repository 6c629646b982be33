"""The one way an invoice's status changes: checked against INVOICE_TRANSITIONS, saved, audited."""

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from o2c.common.audit import audit_transition
from o2c.common.exceptions import ApplicationError, ErrorCode

from ..models import INVOICE_TRANSITIONS, Invoice, InvoiceStatus


def invoice_transition(
    invoice: Invoice, to: InvoiceStatus, *, actor: User | None, via: str, why: str = "", **changes
) -> Invoice:
    """Move a locked invoice to `to`, saving `changes` (e.g. sent_at) in the same UPDATE; `why` goes
    to the audit entry."""
    if to not in INVOICE_TRANSITIONS[InvoiceStatus(invoice.status)]:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("%(invoice)s is %(status)s; it cannot become %(to)s.")
            % {"invoice": invoice, "status": invoice.get_status_display(), "to": to.label},
        )
    old = invoice.status
    invoice.status = to
    for name, value in changes.items():
        setattr(invoice, name, value)
    invoice.save(update_fields=["status", *changes])
    audit_transition(instance=invoice, field="status", old=old, new=to, actor=actor, via=via, note=why)
    return invoice
