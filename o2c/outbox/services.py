"""Writing events to the outbox. Delivery (webhooks, notifications) lives in delivery.py."""

import json
import logging
import threading
import time

from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from o2c.common.db import bulk_insert, chain_defer, chain_flush

from .models import OutboxEvent

logger = logging.getLogger(__name__)


def _jsonable(payload: dict) -> dict:
    # Decimals become strings and dates ISO text, exactly as the API sends them.
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def event_record(
    *, event_type: str, aggregate_type: str, aggregate_id, payload: dict, actor: User | None = None
) -> OutboxEvent:
    """Record an event in the caller's transaction, and nudge the dispatcher once it commits.

    Inside a chain of services (o2c.common.db.service_atomic) the chain's events are written
    together, in one INSERT and in the order recorded, when the chain ends; the event returned
    gets its id then.
    """
    event = OutboxEvent(
        event_type=event_type,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=_jsonable(payload),
        actor=actor if actor is not None and actor.is_authenticated else None,
    )
    pending = chain_defer("outbox_events", _events_write)
    if pending is None:
        event.save(force_insert=True)
        _schedule_kick()
    else:
        pending.append(event)
    return event


def _events_write(events: list[OutboxEvent]) -> None:
    ids = bulk_insert(
        OutboxEvent,
        ["event_type", "aggregate_type", "aggregate_id", "payload", "occurred_at", "actor_id"],
        [
            (e.event_type, e.aggregate_type, e.aggregate_id, json.dumps(e.payload), e.occurred_at, e.actor_id)
            for e in events
        ],
        returning="id",
    )
    for event, (pk,) in zip(events, ids, strict=True):
        event.pk = pk
        event._state.adding = False
    _schedule_kick()


# After a failed kick, skip kicks for a while: a broker outage must not slow every request down.
KICK_PAUSE_SECONDS = 30.0
_kick_paused_until = 0.0
# One broker connection per thread, reused from kick to kick (kombu connections are not thread-safe).
_kick_local = threading.local()


def _schedule_kick() -> None:
    """Kick once per transaction, however many events it records."""
    if not getattr(settings, "O2C_OUTBOX_KICK", True):
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(entry[1] is outbox_kick for entry in connection.run_on_commit):
        return
    transaction.on_commit(outbox_kick)


def _kick_connection():
    from .tasks import outbox_dispatch

    app = outbox_dispatch.app
    url = app.conf.broker_write_url or app.conf.broker_url
    cached = getattr(_kick_local, "connection", None)
    if cached is None or _kick_local.url != url:
        if cached is not None:
            cached.release()
        _kick_local.connection = app.connection_for_write()
        _kick_local.url = url
    return _kick_local.connection


def outbox_kick() -> None:
    """Ask a worker to dispatch now. Best effort: if the broker is down the periodic sweep delivers later."""
    global _kick_paused_until
    from .tasks import outbox_dispatch

    if time.monotonic() < _kick_paused_until:
        return
    try:
        connection = _kick_connection()
        connection.ensure_connection(max_retries=1, timeout=1)
        outbox_dispatch.apply_async(retry=False, connection=connection)
    except Exception:  # noqa: BLE001 - the broker being down must never fail the business change
        _kick_paused_until = time.monotonic() + KICK_PAUSE_SECONDS
        stale = getattr(_kick_local, "connection", None)
        _kick_local.connection = None
        if stale is not None:
            stale.release()
        logger.warning("Broker unavailable; outbox events will be delivered by the periodic sweep", exc_info=True)


def event_record_many(*, events: list[tuple[str, str, object, dict]], actor: User | None = None) -> None:
    """Record many events in one INSERT: (event_type, aggregate_type, aggregate_id, payload) each."""
    if not events:
        return
    user_id = actor.pk if actor is not None and actor.is_authenticated else None
    now = timezone.now()
    chain_flush("outbox_events")  # events keep the order they were recorded in
    bulk_insert(
        OutboxEvent,
        ["event_type", "aggregate_type", "aggregate_id", "payload", "occurred_at", "actor_id"],
        [
            (event_type, aggregate_type, str(aggregate_id), json.dumps(payload, cls=DjangoJSONEncoder), now, user_id)
            for event_type, aggregate_type, aggregate_id, payload in events
        ],
    )
    _schedule_kick()
