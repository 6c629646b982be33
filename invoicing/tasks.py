"""Invoicing's Celery tasks: thin, idempotent wrappers around services."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="invoicing.render_pdf", ignore_result=True)
def invoice_render_pdf(invoice_id: int) -> None:
    """Render an issued invoice's PDF; a PDF already stored is kept, a lost one rendered again."""
    from .documents import invoice_pdf_render

    invoice_pdf_render(invoice_id=invoice_id)


@shared_task(name="invoicing.render_pdfs", ignore_result=True)
def invoice_render_pdfs(invoice_ids: list[int]) -> None:
    """Render several PDFs (an invoice run queues them ten to a message). One that fails is logged
    and left for its reader to ask again (documents.invoice_pdf_request); the rest still render."""
    from .documents import invoice_pdf_render

    for invoice_id in invoice_ids:
        try:
            invoice_pdf_render(invoice_id=invoice_id)
        except Exception:  # noqa: BLE001 - one bad document must not cost the others theirs
            logger.exception("Rendering the PDF of invoice %s failed", invoice_id)


@shared_task(name="invoicing.send_deliver", ignore_result=True)
def invoice_send_deliver(send_id: int) -> None:
    """E-mail one queued sending; a second delivery of the message finds it sent and sends nothing."""
    from .services.sending import invoice_send_deliver as deliver

    deliver(send_id=send_id)


@shared_task(name="invoicing.run_execute", ignore_result=True)
def invoice_run_execute(run_id: int) -> None:
    """Carry out an invoice run; a second delivery of the message finds the work done."""
    from .services.runs import invoice_run_execute as execute

    execute(run_id=run_id)
