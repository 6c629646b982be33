"""Writing events to the outbox. Delivery (webhooks, notifications) lives in delivery.py."""

import json
import logging
import os
import threading
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from o2c.common.db import bulk_insert, chain_defer, chain_execute, chain_flush, insert_statement, new_row

from .models import OutboxEvent

logger = logging.getLogger(__name__)


def _jsonable(payload: dict) -> dict:
    # Decimals become strings and dates ISO text, exactly as the API sends them.
    flat = {}
    for key, value in payload.items():
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            flat[key] = value
        elif kind is Decimal:
            flat[key] = str(value)  # what DjangoJSONEncoder writes
        elif isinstance(value, str):
            flat[key] = str.__str__(value)  # a TextChoices member: its text
        else:
            # Dates, floats, nesting: the round trip through JSON. Flat payloads of text, numbers
            # and amounts (every order event) skip it.
            return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return flat


def event_record(
    *, event_type: str, aggregate_type: str, aggregate_id, payload: dict, actor: User | None = None
) -> OutboxEvent:
    """Record an event in the caller's transaction, and nudge the dispatcher once it commits.

    Inside a chain of services (o2c.common.db.service_atomic) the chain's events are written
    together, in one INSERT and in the order recorded, when the chain ends; the event returned
    gets its id then.
    """
    event = new_row(
        OutboxEvent,
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
    # One INSERT with the chain's other end-of-chain writes (o2c.common.db.chain_execute).
    chain_execute(*insert_statement(OutboxEvent, events))
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
    if connection.in_atomic_block and any(entry[1] is outbox_kick_soon for entry in connection.run_on_commit):
        return
    transaction.on_commit(outbox_kick_soon)


# A dispatch delivers every pending event, so a burst of commits needs one kick, not one each: at
# most one per KICK_INTERVAL_SECONDS per process, and one more at the interval's end for the
# commits it held back (so no event waits for the minute's sweep). A kick costs about 1.5 ms of
# CPU; one per order was a tenth of what an order may cost at 300 orders/s.
KICK_INTERVAL_SECONDS = 0.25
_kick_lock = threading.Lock()
_kick_next = 0.0
_kick_trailing: "_TrailingKick | None" = None


class _TrailingKick(threading.Thread):
    """The process's kick at the end of an interval; one thread, with its own broker connection."""

    def __init__(self) -> None:
        super().__init__(name="outbox-trailing-kick", daemon=True)
        self.pid = os.getpid()
        self.wanted = threading.Event()
        self.at = 0.0
        self.pending = False

    def want(self, at: float) -> None:
        self.at = at
        self.pending = True
        self.wanted.set()

    def run(self) -> None:
        global _kick_next
        while True:
            self.wanted.wait()
            self.wanted.clear()
            time.sleep(max(0.0, self.at - time.monotonic()))
            with _kick_lock:
                self.pending = False
                _kick_next = time.monotonic() + KICK_INTERVAL_SECONDS
            outbox_kick()


def outbox_kick_soon() -> None:
    """Kick now, or at the end of the current interval if a kick went out less than one ago."""
    global _kick_next, _kick_trailing
    now = time.monotonic()
    with _kick_lock:
        if now >= _kick_next:
            _kick_next = now + KICK_INTERVAL_SECONDS
            at_once = True
        else:
            at_once = False
            trailing = _kick_trailing
            if trailing is None or trailing.pid != os.getpid() or not trailing.is_alive():
                trailing = _kick_trailing = _TrailingKick()  # after a fork, the parent's thread is gone
                trailing.start()
            if not trailing.pending:
                trailing.want(_kick_next)
    if at_once:
        outbox_kick()


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
