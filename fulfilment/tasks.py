from celery import shared_task

from . import services


@shared_task(name="fulfilment.tasks.release_due_orders", ignore_result=True)
def release_due_orders() -> int:
    """Beat runs this every minute; overlapping runs are safe (SKIP LOCKED)."""
    return services.orders_release_all_due()


@shared_task(name="fulfilment.tasks.render_pick_list_pdf", ignore_result=True)
def render_pick_list_pdf(pick_list_id: int, language: str = "sv") -> None:
    services.pick_list_pdf_render(pick_list_id=pick_list_id, language=language)


@shared_task(name="fulfilment.tasks.render_batch_pick_list_pdf", ignore_result=True)
def render_batch_pick_list_pdf(batch_id: int) -> None:
    services.batch_pick_list_pdf_render(batch_id=batch_id)
