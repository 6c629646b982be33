"""Invoicing's Celery tasks: thin, idempotent wrappers around services."""

from celery import shared_task


@shared_task(name="invoicing.render_pdf", ignore_result=True)
def invoice_render_pdf(invoice_id: int) -> None:
    """Render an issued invoice's PDF (being written)."""


@shared_task(name="invoicing.run_execute", ignore_result=True)
def invoice_run_execute(run_id: int) -> None:
    """Carry out an invoice run; a second delivery of the message finds the work done."""
    from .services.runs import invoice_run_execute as execute

    execute(run_id=run_id)
