"""Sending invoices by e-mail: the PDF (and the UBL for Peppol customers), a send log, resends, once only."""

import smtplib
import threading
import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connections

from invoicing import services
from invoicing.models import InvoiceSend, InvoiceStatus, SendStatus
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditEntry
from o2c.common.roles import Role
from tests.factories import CustomerFactory, user_with_role

PEPPOL_ENDPOINT = "0007:5567321707"


class FailingBackend(EmailBackend):
    """The mail server refuses (what smtplib raises when the relay says no)."""

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"ekonomi@kund.se": (550, b"5.1.1 mailbox unavailable")})


class SlowBackend(EmailBackend):
    """A mail server that takes its time, so two deliveries surely overlap."""

    def send_messages(self, messages):
        time.sleep(0.5)
        return super().send_messages(messages)


def customer(**fields):
    return CustomerFactory(invoice_email="ekonomi@kund.se", credit_limit=Decimal("1000000"), **fields)


@pytest.mark.django_db
class TestSending:
    def test_a_sending_is_queued_then_a_worker_mails_the_pdf_and_the_invoice_becomes_sent(
        self, issued, finance, django_capture_on_commit_callbacks
    ):
        invoice = issued({"PUMP": 1}, customer=customer())

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            send = services.invoice_send(invoice=invoice, actor=finance, via="web")

        assert (send.status, send.recipient, send.requested_by) == (SendStatus.QUEUED, "ekonomi@kund.se", finance)
        assert len(callbacks) == 1 and not mail.outbox  # nothing leaves before commit, and then a worker sends

        send = services.invoice_send_deliver(send_id=send.pk)

        assert (send.status, send.error) == (SendStatus.SENT, "")
        assert send.sent_at is not None and send.attachments == [f"{invoice.number}.pdf"]
        [message] = mail.outbox
        assert message.to == ["ekonomi@kund.se"]
        assert message.subject == f"Faktura {invoice.number} från Testbolaget AB"  # the customer's language
        assert "1 250,00 SEK" in message.body.replace("\xa0", " ") and invoice.payment_reference in message.body
        assert f"{invoice.due_date:%Y-%m-%d}" in message.body
        [(name, content, mimetype)] = message.attachments
        assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
        assert content.startswith(b"%PDF")
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.SENT and invoice.sent_at is not None
        assert invoice.pdf  # rendered on the way, since the issue's own render task had not run
        trail = AuditEntry.objects.filter(content_type__model="invoicesend", object_id=str(send.pk))
        assert list(trail.order_by("pk").values_list("action", "changes__status")) == [
            ("create", [None, "queued"]),
            ("transition", ["queued", "sent"]),
        ]

    def test_when_the_pdf_cannot_be_made_the_sending_fails_with_the_reason_and_a_resend_works(
        self, issued, finance, monkeypatch
    ):
        import invoicing.documents as documents

        invoice = issued({"PUMP": 1}, customer=customer())
        send = services.invoice_send(invoice=invoice, actor=finance)
        real_render = documents.invoice_pdf_render

        def broken(**kwargs):
            raise OSError("media storage is full")

        monkeypatch.setattr(documents, "invoice_pdf_render", broken)
        send = services.invoice_send_deliver(send_id=send.pk)

        assert send.status == SendStatus.FAILED and "media storage is full" in send.error
        assert not mail.outbox
        monkeypatch.setattr(documents, "invoice_pdf_render", real_render)
        assert services.invoice_send_deliver(send_id=send.pk).status == SendStatus.SENT
        assert len(mail.outbox) == 1

    def test_a_peppol_customer_also_gets_the_ubl(self, issued, finance):
        invoice = issued({"PUMP": 1, "BOOK": 1}, customer=customer(peppol_endpoint=PEPPOL_ENDPOINT))

        send = services.invoice_send(invoice=invoice, actor=finance)
        send = services.invoice_send_deliver(send_id=send.pk)

        assert send.attachments == [f"{invoice.number}.pdf", f"{invoice.number}.xml"]
        [message] = mail.outbox
        (pdf_name, pdf, _), (xml_name, xml, xml_type) = message.attachments
        assert (xml_name, xml_type) == (f"{invoice.number}.xml", "application/xml")
        assert xml.decode() == invoice.ubl and f"<cbc:ID>{invoice.number}</cbc:ID>" in invoice.ubl
        assert pdf.startswith(b"%PDF")

    def test_delivering_twice_sends_once(self, issued, finance):
        invoice = issued({"PUMP": 1}, customer=customer())
        send = services.invoice_send(invoice=invoice, actor=finance)

        first = services.invoice_send_deliver(send_id=send.pk)
        again = services.invoice_send_deliver(send_id=send.pk)

        assert len(mail.outbox) == 1
        assert again.sent_at == first.sent_at and again.status == SendStatus.SENT

    def test_a_resend_is_another_row_and_another_mail_and_the_invoice_stays_sent(self, issued, finance):
        invoice = issued({"PUMP": 1}, customer=customer())
        first = services.invoice_send_deliver(send_id=services.invoice_send(invoice=invoice, actor=finance).pk)
        invoice.refresh_from_db()
        sent_at = invoice.sent_at

        second = services.invoice_send(invoice=invoice, actor=finance, recipient="reskontra@kund.se")
        second = services.invoice_send_deliver(send_id=second.pk)

        assert [m.to for m in mail.outbox] == [["ekonomi@kund.se"], ["reskontra@kund.se"]]
        assert list(InvoiceSend.objects.filter(invoice=invoice).order_by("pk").values_list("pk", "status")) == [
            (first.pk, SendStatus.SENT),
            (second.pk, SendStatus.SENT),
        ]
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.SENT and invoice.sent_at == sent_at  # marked sent once

    def test_a_refusing_mail_server_marks_the_sending_failed_and_a_retry_or_resend_goes_out(
        self, issued, finance, settings
    ):
        invoice = issued({"PUMP": 1}, customer=customer())
        send = services.invoice_send(invoice=invoice, actor=finance)

        settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
        failed = services.invoice_send_deliver(send_id=send.pk)

        assert failed.status == SendStatus.FAILED and failed.sent_at is None
        assert "SMTPRecipientsRefused" in failed.error and "mailbox unavailable" in failed.error
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.ISSUED and not mail.outbox

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        retried = services.invoice_send_deliver(send_id=send.pk)  # the same sending, tried again
        resent = services.invoice_send_deliver(send_id=services.invoice_send(invoice=invoice, actor=finance).pk)

        assert (retried.status, retried.error, resent.status) == (SendStatus.SENT, "", SendStatus.SENT)
        assert len(mail.outbox) == 2
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.SENT
        trail = AuditEntry.objects.filter(content_type__model="invoicesend", object_id=str(send.pk))
        assert list(trail.order_by("pk").values_list("changes__status", flat=True)) == [
            [None, "queued"],
            ["queued", "failed"],
            ["failed", "sent"],
        ]

    def test_a_credit_note_is_sent_as_a_credit_note(self, issued, finance, finance2):
        invoice = issued({"PUMP": 1}, customer=customer(language="en"))
        note = services.credit_note_create(invoice=invoice, reason="Returned", actor=finance)
        services.invoice_approve(invoice=note, actor=finance2)
        note = services.invoice_issue(invoice=note, actor=finance2)

        services.invoice_send_deliver(send_id=services.invoice_send(invoice=note, actor=finance).pk)

        [message] = mail.outbox
        assert message.subject == f"Credit note {note.number} from Testbolaget AB"
        assert f"crediting invoice {invoice.number}" in message.body and "Reason: Returned" in message.body
        assert message.attachments[0][0] == f"{note.number}.pdf"

    def test_no_address_no_sending(self, issued, finance):
        invoice = issued({"PUMP": 1}, customer=CustomerFactory(name="Utan Mejl AB", credit_limit=Decimal("100000")))

        with pytest.raises(ApplicationError) as error:
            services.invoice_send(invoice=invoice, actor=finance)
        assert error.value.code == ErrorCode.VALIDATION
        assert "Utan Mejl AB has no invoice e-mail address" in error.value.message

        with pytest.raises(ApplicationError) as error:
            services.invoice_send(invoice=invoice, actor=finance, recipient="not-an-address")
        assert error.value.code == ErrorCode.VALIDATION
        assert not InvoiceSend.objects.exists()

    def test_only_finance_sends_and_only_issued_invoices(self, shipped, issued, finance):
        invoice = issued({"PUMP": 1}, customer=customer())
        with pytest.raises(ApplicationError) as error:
            services.invoice_send(invoice=invoice, actor=user_with_role("sales"))
        assert error.value.code == ErrorCode.PERMISSION_DENIED

        draft = services.invoice_draft_from_shipments(
            shipment_ids=[shipped({"PUMP": 1}, customer=customer()).pk], actor=finance
        )
        with pytest.raises(ApplicationError) as error:
            services.invoice_send(invoice=draft, actor=finance)
        assert error.value.code == ErrorCode.INVALID_STATE
        assert not InvoiceSend.objects.exists()


@pytest.fixture
def flushed_seed(transactional_db):
    """What the migrations seeded, again after a transactional test's flush."""
    from orders.migrations import _seed

    _seed.vat()
    for role in Role:
        Group.objects.get_or_create(name=role.value)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_the_same_sending_at_once_send_one_mail(
    flushed_seed, issued, finance, settings, monkeypatch
):
    from invoicing import tasks

    # Commits here are real: keep their task messages from the broker, and run the tasks by hand.
    for task in (tasks.invoice_render_pdf, tasks.invoice_send_deliver):
        monkeypatch.setattr(task, "delay", lambda *args, **kwargs: None)
    invoice = issued({"PUMP": 1}, customer=customer())
    send = services.invoice_send(invoice=invoice, actor=finance)
    tasks.invoice_render_pdf(invoice.pk)
    settings.EMAIL_BACKEND = f"{__name__}.SlowBackend"
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(10)
            results.append(
                tasks.invoice_send_deliver(send.pk) or SendStatus(InvoiceSend.objects.get(pk=send.pk).status)
            )
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not errors, errors
    assert results == [SendStatus.SENT, SendStatus.SENT]
    assert len(mail.outbox) == 1
    send.refresh_from_db()
    invoice.refresh_from_db()
    assert send.status == SendStatus.SENT and invoice.status == InvoiceStatus.SENT
    assert AuditEntry.objects.filter(content_type__model="invoicesend", changes__status=["queued", "sent"]).count() == 1
