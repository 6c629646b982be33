"""Sending issued invoices and credit notes to the customer by e-mail, with a send log.

Finance asks for a sending (`invoice_send`): that writes a queued InvoiceSend row and, after
commit, a worker delivers it (`invoice_send_deliver`): the PDF (rendered first if it is not there
yet) and, for a customer with a Peppol endpoint, the Peppol UBL, through Django's e-mail backend.
Each sending is its own row, so a resend is just another sending, and the log shows them all.

A delivery holds the send row's lock while it talks to the mail server, so two workers given the
same message (a redelivered Celery task, a retry racing the first try) send one e-mail: the second
waits, then finds the row sent.
"""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from o2c.common.audit import audit_created, audit_transition
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.roles import user_can
from o2c.common.templatetags.o2c import money

from ..models import ISSUED_STATUSES, Invoice, InvoiceSend, InvoiceStatus, SendChannel, SendStatus
from .issuing import invoice_mark_sent

__all__ = ["SEND_TRANSITIONS", "invoice_send", "invoice_send_deliver"]

S_ = SendStatus
# A failed sending may be tried again (the task's retry, or finance pressing "retry"); a sent one never.
SEND_TRANSITIONS: dict[SendStatus, frozenset[SendStatus]] = {
    S_.QUEUED: frozenset({S_.SENT, S_.FAILED}),
    S_.FAILED: frozenset({S_.SENT, S_.FAILED}),
    S_.SENT: frozenset(),
}
PDF_CONTENT_TYPE = "application/pdf"
UBL_CONTENT_TYPE = "application/xml"
ERROR_MAX_CHARS = 2000


@transaction.atomic
def invoice_send(*, invoice: Invoice, actor: User | None, via: str = "", recipient: str | None = None) -> InvoiceSend:
    """Queue an issued invoice or credit note for e-mail to the customer (or to `recipient`)."""
    if actor is not None and not user_can(actor, "invoice.issue"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("Only finance may send invoices."))
    invoice = Invoice.objects.get(pk=invoice.pk)
    if invoice.status not in ISSUED_STATUSES:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("%(invoice)s is %(status)s; only an issued invoice can be sent.")
            % {"invoice": invoice, "status": invoice.get_status_display().lower()},
        )
    address = (recipient if recipient is not None else invoice.buyer.get("email", "")).strip()
    if not address:
        raise ApplicationError(
            code=ErrorCode.VALIDATION,
            message=_(
                "Customer %(customer)s has no invoice e-mail address. Add one to the customer or enter a recipient."
            )
            % {"customer": invoice.buyer.get("name", "")},
        )
    try:
        validate_email(address)
    except ValidationError as exc:
        raise ApplicationError(
            code=ErrorCode.VALIDATION,
            message=_("%(address)s is not an e-mail address.") % {"address": address},
        ) from exc
    send = InvoiceSend.objects.create(
        invoice=invoice,
        channel=SendChannel.EMAIL,
        recipient=address,
        attachments=_attachment_names(invoice),
        requested_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_created(instance=send, actor=actor, via=via)
    _deliver_dispatch(send.pk)
    return send


def _deliver_dispatch(send_id: int) -> None:
    from ..tasks import invoice_send_deliver as deliver_task

    transaction.on_commit(lambda: deliver_task.delay(send_id))


def _base_name(invoice: Invoice) -> str:
    return get_valid_filename(invoice.number) or f"invoice-{invoice.pk}"


def _wants_ubl(invoice: Invoice) -> bool:
    return bool(invoice.buyer.get("peppol_endpoint")) and bool(invoice.ubl)


def _attachment_names(invoice: Invoice) -> list[str]:
    names = [f"{_base_name(invoice)}.pdf"]
    if _wants_ubl(invoice):
        names.append(f"{_base_name(invoice)}.xml")
    return names


def _message(send: InvoiceSend, invoice: Invoice) -> EmailMessage:
    """The e-mail in the customer's language, with the PDF (and the UBL for e-invoice customers)."""
    seller = invoice.seller
    with translation.override(invoice.language if invoice.language in ("sv", "nb", "en") else "sv"):
        values = {
            "number": invoice.number,
            "seller": seller.get("name", ""),
            "amount": money(invoice.payable_amount, invoice.currency),  # formatted the customer's way
            "due": invoice.due_date.isoformat() if invoice.due_date else "",
            "reference": invoice.payment_reference,
            "credited": invoice.credited_invoice.number if invoice.credited_invoice_id else "",
        }
        if invoice.is_credit_note:
            subject = _("Credit note %(number)s from %(seller)s") % values
            body = [_("Attached is credit note %(number)s of %(amount)s, crediting invoice %(credited)s.") % values]
            if invoice.reason:
                body.append(_("Reason: %(reason)s") % {"reason": invoice.reason})
        else:
            subject = _("Invoice %(number)s from %(seller)s") % values
            body = [_("Attached is invoice %(number)s of %(amount)s, due on %(due)s.") % values]
            if invoice.payment_reference:
                body.append(_("Please use the payment reference %(reference)s when you pay.") % values)
        body.append(_("Kind regards,\n%(seller)s") % values)
    message = EmailMessage(
        subject=subject,
        body="\n\n".join(body),
        to=[send.recipient],
        reply_to=[seller["email"]] if seller.get("email") else None,
    )
    with invoice.pdf.open("rb") as handle:
        message.attach(f"{_base_name(invoice)}.pdf", handle.read(), PDF_CONTENT_TYPE)
    if _wants_ubl(invoice):
        message.attach(f"{_base_name(invoice)}.xml", invoice.ubl.encode(), UBL_CONTENT_TYPE)
    return message


def _send_transition(send: InvoiceSend, *, to: SendStatus, note: str = "", **changes) -> InvoiceSend:
    old = send.status
    if to not in SEND_TRANSITIONS[SendStatus(old)]:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("This sending is %(status)s.") % {"status": send.get_status_display().lower()},
        )
    send.status = to
    for name, value in changes.items():
        setattr(send, name, value)
    send.save(update_fields=["status", *changes])
    audit_transition(instance=send, field="status", old=old, new=to, actor=None, via="worker", note=note)
    return send


def invoice_send_deliver(*, send_id: int) -> InvoiceSend:
    """Deliver one queued (or failed) sending. Safe to run twice, and by two workers at once."""
    from ..documents import invoice_pdf_render

    send = InvoiceSend.objects.get(pk=send_id)
    if send.status == SendStatus.SENT:
        return send
    # Rendering takes a while; it is done before the row lock, and is itself safe to run twice.
    try:
        invoice_pdf_render(invoice_id=send.invoice_id)
    except Exception as exc:  # noqa: BLE001 - no PDF, no mail: the send log says why, and a resend retries
        with transaction.atomic():
            send = InvoiceSend.objects.select_for_update().get(pk=send_id)
            if send.status == SendStatus.SENT:
                return send
            return _send_transition(
                send,
                to=SendStatus.FAILED,
                note=_("The PDF could not be made")[:200],
                error=f"PDF: {type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS],
            )
    with transaction.atomic():
        send = InvoiceSend.objects.select_for_update().get(pk=send_id)
        if send.status == SendStatus.SENT:
            return send  # another worker sent it while this one waited for the lock
        invoice = Invoice.objects.select_related("credited_invoice").get(pk=send.invoice_id)
        message = _message(send, invoice)
        try:
            message.send(fail_silently=False)
        except Exception as exc:  # noqa: BLE001 - whatever the backend raises is the sending's error
            return _send_transition(
                send,
                to=SendStatus.FAILED,
                note=str(exc)[:200],
                error=f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS],
            )
        send = _send_transition(
            send,
            to=SendStatus.SENT,
            sent_at=timezone.now(),
            error="",
            attachments=[name for name, _content, _mimetype in message.attachments],
        )
        if invoice.status == InvoiceStatus.ISSUED:
            invoice_mark_sent(invoice=invoice, actor=send.requested_by, via="email")
    return send
