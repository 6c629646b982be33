from celery import shared_task

from . import services


@shared_task(name="fulfilment.tasks.release_due_orders", ignore_result=True)
def release_due_orders() -> int:
    """Beat runs this every minute; overlapping runs are safe (SKIP LOCKED)."""
    return services.orders_release_all_due()
