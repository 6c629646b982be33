from celery import shared_task

from .services import heartbeat_record


@shared_task(name="o2c.common.tasks.heartbeat")
def heartbeat() -> None:
    heartbeat_record(name="worker")


@shared_task(name="o2c.common.tasks.idempotency_keys_expire")
def idempotency_keys_expire() -> None:
    from .idempotency import idempotency_keys_expire as expire

    expire()
