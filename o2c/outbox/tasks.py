from celery import shared_task


@shared_task(name="o2c.outbox.tasks.outbox_dispatch", ignore_result=True)
def outbox_dispatch() -> None:
    """Fan pending events out into deliveries and send what is due. Idempotent; safe to run concurrently."""
    from .delivery import outbox_dispatch_pending

    outbox_dispatch_pending()
