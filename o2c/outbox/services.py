"""Writing events to the outbox. Delivery (webhooks, notifications) lives in delivery.py."""

import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from .models import OutboxEvent

logger = logging.getLogger(__name__)


def _jsonable(payload: dict) -> dict:
    import json

    # Decimals become strings and dates ISO text, exactly as the API sends them.
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def event_record(
    *, event_type: str, aggregate_type: str, aggregate_id, payload: dict, actor: User | None = None
) -> OutboxEvent:
    """Record an event in the caller's transaction, and nudge the dispatcher once it commits."""
    event = OutboxEvent.objects.create(
        event_type=event_type,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=_jsonable(payload),
        actor=actor if actor is not None and actor.is_authenticated else None,
    )
    if getattr(settings, "O2C_OUTBOX_KICK", True):
        transaction.on_commit(outbox_kick)
    return event


def outbox_kick() -> None:
    """Ask a worker to dispatch now. Best effort: if the broker is down the periodic sweep delivers later."""
    from .tasks import outbox_dispatch

    try:
        outbox_dispatch.apply_async(retry=False)
    except Exception:  # noqa: BLE001 - the broker being down must never fail the business change
        logger.warning("Broker unavailable; outbox events will be delivered by the periodic sweep", exc_info=True)
