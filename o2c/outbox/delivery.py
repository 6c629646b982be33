"""Delivering outbox events to subscribers: fan-out, sending with retries, redelivery, and subscriptions.

Delivery is at least once. An event is fanned out to each subscriber once (row locks with SKIP LOCKED
plus a unique constraint); a delivery is claimed with a lease, sent outside any transaction, and its
result recorded under a row lock. A receiver may still see a request twice (we time out after it
answered), so receivers dedupe on X-O2C-Event-Id.

Every function takes `now` so tests move the clock instead of sleeping.
"""

import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.client import HTTPException

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from o2c.common.audit import audit_changed, audit_record, audit_transition, snapshot
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditAction
from o2c.common.roles import user_can

from .models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    OutboxEvent,
    SubscriptionKind,
    WebhookSubscription,
)
from .signing import SIGNATURE_HEADER, sign

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
HTTP_TIMEOUT = 10  # seconds, per request
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)
# A batch stops starting sends this long after its claim, so no claim runs out while we still send:
# the lease minus one full request timeout and a margin.
SEND_WINDOW = LEASE - timedelta(seconds=HTTP_TIMEOUT + 5)
FAN_OUT_BATCH = 500
FAN_OUT_ROUNDS = 20  # per dispatch; the next sweep takes any rest


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling each time, never more than 6 h."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20), MAX_RETRY)


# Fan-out ------------------------------------------------------------------------------------------


def outbox_fan_out(*, now: datetime | None = None, batch: int = FAN_OUT_BATCH) -> int:
    """Turn up to `batch` pending events into one delivery per interested active subscriber.

    Returns how many events this call claimed. Concurrent callers skip each other's locked events,
    so each event is fanned out by exactly one of them.
    """
    now = now or timezone.now()
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True)
            .order_by("id")
            .only("id", "event_type")[:batch]
        )
        if not events:
            return 0
        subscriptions = list(WebhookSubscription.objects.filter(is_active=True))
        Delivery.objects.bulk_create(
            [
                Delivery(event=event, subscription=subscription, next_attempt_at=now, created_at=now)
                for event in events
                for subscription in subscriptions
                if subscription.wants(event.event_type)
            ],
            # The unique (event, subscription) constraint is the backstop if a claim is ever lost.
            ignore_conflicts=True,
        )
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
    return len(events)


# Sending ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""
    note: str = ""


def webhook_body(event: OutboxEvent) -> bytes:
    """The exact bytes we POST and sign."""
    document = {
        "id": event.id,
        "type": event.event_type,
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.payload,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow a 301/302 by re-sending our POST as a body-less GET and call that success;
    # a redirect is an answer to fix in the subscription's URL, so it counts as a failed attempt.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_http = urllib.request.build_opener(_NoRedirects)


def _webhook_post(delivery: Delivery) -> Outcome:
    event, subscription = delivery.event, delivery.subscription
    body = webhook_body(event)
    request = urllib.request.Request(
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "o2c-webhooks/1",
            "X-O2C-Event-Id": str(event.id),
            "X-O2C-Event-Type": event.event_type,
            "X-O2C-Delivery-Id": str(delivery.id),
            # Signed with the wall clock, not the test clock: the receiver checks it against its own.
            SIGNATURE_HEADER: sign(subscription.secret, body),
        },
    )
    try:
        with _http.open(request, timeout=HTTP_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        detail = (exc.read(500) or b"").decode("utf-8", "replace").strip()
        exc.close()
        return Outcome(ok=False, status_code=exc.code, error=f"HTTP {exc.code} {exc.reason}: {detail}".strip(": "))
    except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(ok=False, error=f"{type(exc).__name__}: {reason}")
    if 200 <= status < 300:
        return Outcome(ok=True, status_code=status)
    return Outcome(ok=False, status_code=status, error=f"HTTP {status}")


RECORD_NAMES = {
    "order": gettext_lazy("Order"),
    "invoice": gettext_lazy("Invoice"),
    "credit_note": gettext_lazy("Credit note"),
    "shipment": gettext_lazy("Shipment"),
    "payment": gettext_lazy("Payment"),
    "customer": gettext_lazy("Customer"),
}
WHAT_HAPPENED = {
    "created": gettext_lazy("created"),
    "submitted": gettext_lazy("submitted"),
    "confirmed": gettext_lazy("confirmed"),
    "credit_hold": gettext_lazy("on credit hold"),
    "awaiting_release": gettext_lazy("waiting for release to the warehouse"),
    "released": gettext_lazy("released to the warehouse"),
    "partially_shipped": gettext_lazy("partially shipped"),
    "shipped": gettext_lazy("shipped"),
    "invoiced": gettext_lazy("invoiced"),
    "closed": gettext_lazy("closed"),
    "cancelled": gettext_lazy("cancelled"),
    "hold_added": gettext_lazy("on hold"),
    "hold_satisfied": gettext_lazy("no longer held by a condition"),
    "issued": gettext_lazy("issued"),
    "paid": gettext_lazy("paid"),
    "overdue": gettext_lazy("overdue"),
    "blocked": gettext_lazy("blocked"),
}


def _email_text(event: OutboxEvent) -> tuple[str, str]:
    payload = event.payload or {}
    kind, _dot, verb = event.event_type.rpartition(".")
    kind = kind or event.aggregate_type
    record = str(RECORD_NAMES.get(kind, kind.replace("_", " ").capitalize()))
    what = str(WHAT_HAPPENED.get(verb, verb.replace("_", " ")))
    number = str(payload.get("number") or event.aggregate_id)
    customer = str(payload.get("customer_name") or "")
    values = {"record": record, "number": number, "what": what, "customer": customer}
    subject = _("[o2c] %(record)s %(number)s %(what)s") % values
    lines = [
        (
            _("%(record)s %(number)s for %(customer)s is %(what)s.")
            if customer
            else _("%(record)s %(number)s is %(what)s.")
        )
        % values
    ]
    if payload.get("reason"):
        lines.append(_("Reason: %(reason)s") % {"reason": payload["reason"]})
    lines += ["", _("Event %(type)s at %(when)s.") % {"type": event.event_type, "when": event.occurred_at.isoformat()}]
    lines += ["", _("You get this because you are the sales rep on the customer.")]
    return subject, "\n".join(lines) + "\n"


def _sales_rep_email(delivery: Delivery) -> Outcome:
    event = delivery.event
    recipient = str((event.payload or {}).get("sales_rep_email") or "").strip()
    if not recipient:
        return Outcome(ok=True, note=_("No sales rep email on the event; nothing to send."))
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = _email_text(event)
    send_mail(subject, body, None, [recipient], fail_silently=False)
    return Outcome(ok=True, note=(_("Emailed %(to)s.") % {"to": recipient})[:200])


SENDERS = {SubscriptionKind.WEBHOOK: _webhook_post, SubscriptionKind.SALES_REP_EMAIL: _sales_rep_email}


def _attempt(delivery: Delivery) -> tuple[Outcome, int]:
    started = time.monotonic()
    try:
        outcome = SENDERS[delivery.subscription.kind](delivery)
    except Exception as exc:  # noqa: BLE001 - one bad subscriber (or SMTP server) must not stop the batch
        logger.warning("Delivery %s failed unexpectedly", delivery.pk, exc_info=True)
        outcome = Outcome(ok=False, error=f"{type(exc).__name__}: {exc}")
    return outcome, int((time.monotonic() - started) * 1000)


def _set_status(delivery: Delivery, to: DeliveryStatus) -> None:
    if to not in Delivery.ALLOWED_TRANSITIONS[delivery.status]:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("A %(old)s delivery cannot become %(new)s.")
            % {"old": delivery.get_status_display().lower(), "new": DeliveryStatus(to).label.lower()},
        )
    delivery.status = to


@transaction.atomic
def _attempt_record(*, delivery_id: int, lease_until: datetime, outcome: Outcome, duration_ms: int, at: datetime):
    delivery = Delivery.objects.select_for_update(of=("self",)).select_related("subscription").get(pk=delivery_id)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        at=at,
        status_code=outcome.status_code,
        error=outcome.error[:2000],
        note=outcome.note[:200],
        duration_ms=duration_ms,
    )
    if delivery.status != DeliveryStatus.PENDING or delivery.lease_until != lease_until:
        # Our claim ran out and another sender took the delivery over: its result decides the status.
        return
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:2000]
    delivery.lease_until = None
    if outcome.ok:
        _set_status(delivery, DeliveryStatus.DELIVERED)
        delivery.delivered_at = at
    elif delivery.attempts >= delivery.subscription.max_attempts:
        _set_status(delivery, DeliveryStatus.FAILED)
    else:
        delivery.next_attempt_at = at + retry_delay(delivery.attempts)
    delivery.save(
        update_fields=[
            "status",
            "attempts",
            "next_attempt_at",
            "lease_until",
            "last_status_code",
            "last_error",
            "delivered_at",
        ]
    )


def deliveries_send_due(*, now: datetime | None = None, batch: int = 100) -> int:
    """Claim up to `batch` due deliveries, send each outside any transaction, record each result.

    Returns how many were attempted. Never raises for a subscriber's failure: that is a failed attempt,
    retried with exponential backoff until the subscription's max_attempts.
    """
    claimed_at = now or timezone.now()
    lease_until = claimed_at + LEASE
    with transaction.atomic():
        claimed = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "subscription")
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=claimed_at, subscription__is_active=True)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=claimed_at))
            .order_by("next_attempt_at", "id")[:batch]
        )
        Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(lease_until=lease_until)
    # Committed: the claim holds without holding a transaction open across slow HTTP calls.
    started = time.monotonic()
    for index, delivery in enumerate(claimed):
        if time.monotonic() - started > SEND_WINDOW.total_seconds():
            rest = [d.pk for d in claimed[index:]]
            Delivery.objects.filter(pk__in=rest, lease_until=lease_until).update(lease_until=None)
            return index
        outcome, duration_ms = _attempt(delivery)
        _attempt_record(
            delivery_id=delivery.pk,
            lease_until=lease_until,
            outcome=outcome,
            duration_ms=duration_ms,
            at=now or timezone.now(),
        )
    return len(claimed)


def outbox_dispatch_pending(*, now: datetime | None = None) -> dict[str, int]:
    """What the Celery task runs (after each commit that recorded events, and every minute from beat)."""
    events = 0
    for _round in range(FAN_OUT_ROUNDS):
        claimed = outbox_fan_out(now=now)
        events += claimed
        if claimed < FAN_OUT_BATCH:
            break
    return {"events": events, "attempts": deliveries_send_due(now=now)}


# People's actions ---------------------------------------------------------------------------------


def _require(actor: User | None, capability: str, message: str) -> None:
    if actor is not None and not user_can(actor, capability):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=message)


@transaction.atomic
def delivery_redeliver(
    *, delivery: Delivery, actor: User | None, via: str = "", now: datetime | None = None
) -> Delivery:
    """Send a delivered or failed delivery again, now, with a fresh retry budget. Its attempt log stays."""
    _require(actor, "webhook.edit", _("You may not redeliver events."))
    now = now or timezone.now()
    delivery = (
        Delivery.objects.select_for_update(of=("self",)).select_related("event", "subscription").get(pk=delivery.pk)
    )
    if DeliveryStatus.PENDING not in Delivery.ALLOWED_TRANSITIONS[delivery.status]:
        raise ApplicationError(code=ErrorCode.INVALID_STATE, message=_("This delivery is already waiting to be sent."))
    old = delivery.status
    _set_status(delivery, DeliveryStatus.PENDING)
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_until = None
    delivery.delivered_at = None
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "lease_until", "delivered_at"])
    audit_transition(
        instance=delivery,
        field="status",
        old=old,
        new=DeliveryStatus.PENDING,
        actor=actor,
        via=via,
        note=_("Redelivery requested."),
    )
    if getattr(settings, "O2C_OUTBOX_KICK", True):
        from .services import outbox_kick

        transaction.on_commit(outbox_kick)
    return delivery


# Subscriptions ------------------------------------------------------------------------------------

# The secret is left out: the audit trail is open to finance and managers, the secret only to admins.
AUDITED_FIELDS = ["name", "kind", "url", "event_types", "is_active", "max_attempts"]
EDITABLE_FIELDS = {*AUDITED_FIELDS, "secret"}


def _normalised_event_types(value) -> list[str] | None:
    if not isinstance(value, list | tuple) or not value:
        return None
    if not all(isinstance(item, str) and item.strip() for item in value):
        return None
    return list(dict.fromkeys(item.strip() for item in value))


def _subscription_validate(subscription: WebhookSubscription) -> None:
    errors: dict[str, list[str]] = {}
    event_types = _normalised_event_types(subscription.event_types)
    if event_types is None:
        errors["event_types"] = [_("List at least one event type (such as order.cancelled), or * for all.")]
    else:
        subscription.event_types = event_types
    if subscription.kind == SubscriptionKind.WEBHOOK and not subscription.url:
        errors["url"] = [_("A webhook needs the URL to send events to.")]
    elif subscription.kind != SubscriptionKind.WEBHOOK:
        subscription.url = ""
    if not subscription.secret:
        subscription.secret = secrets.token_urlsafe(32)
    try:
        subscription.full_clean(exclude=list(errors))
    except ValidationError as exc:
        errors = {**exc.message_dict, **errors}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def subscription_create(
    *,
    actor: User | None,
    name: str,
    event_types: list[str],
    kind: str = SubscriptionKind.WEBHOOK,
    url: str = "",
    secret: str = "",
    is_active: bool = True,
    max_attempts: int = 8,
    via: str = "",
) -> WebhookSubscription:
    _require(actor, "webhook.edit", _("You may not add subscriptions."))
    subscription = WebhookSubscription(
        name=name,
        kind=kind,
        url=(url or "").strip(),
        secret=secret or "",
        event_types=event_types,
        is_active=is_active,
        max_attempts=max_attempts,
    )
    _subscription_validate(subscription)
    subscription.save()
    audit_record(
        instance=subscription,
        action=AuditAction.CREATE,
        changes={field: [None, value] for field, value in snapshot(subscription, AUDITED_FIELDS).items() if value},
        actor=actor,
        via=via,
    )
    return subscription


@transaction.atomic
def subscription_update(
    *, subscription: WebhookSubscription, actor: User | None, via: str = "", **data
) -> WebhookSubscription:
    """Change a subscription. An empty `secret` makes a new one (the receiver must then be given it)."""
    _require(actor, "webhook.edit", _("You may not change subscriptions."))
    unknown = set(data) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({field: _("This field cannot be changed.") for field in sorted(unknown)})
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    before = snapshot(subscription, AUDITED_FIELDS)
    old_secret = subscription.secret
    for field, value in data.items():
        setattr(subscription, field, value.strip() if isinstance(value, str) else value)
    _subscription_validate(subscription)
    subscription.save()
    note = _("Signing secret replaced.") if subscription.secret != old_secret else ""
    entry = audit_changed(instance=subscription, before=before, actor=actor, via=via, note=note)
    if entry is None and note:
        audit_record(instance=subscription, action=AuditAction.CHANGE, changes={}, actor=actor, via=via, note=note)
    return subscription
