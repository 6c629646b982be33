"""Delivering events: fan-out, signed webhooks against a real HTTP receiver, backoff, giving up, redelivery, email."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from o2c.common.audit import audit_trail_for
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditAction
from o2c.outbox.delivery import (
    deliveries_send_due,
    delivery_redeliver,
    outbox_dispatch_pending,
    outbox_fan_out,
    retry_delay,
)
from o2c.outbox.models import Delivery, DeliveryStatus, OutboxEvent, SubscriptionKind
from o2c.outbox.services import event_record
from o2c.outbox.signing import verify_signature
from tests.outbox.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


def order_cancelled(number="1042", **payload):
    return event_record(
        event_type="order.cancelled",
        aggregate_type="order",
        aggregate_id=number,
        payload={"number": number, **payload},
    )


def test_backoff_doubles_from_30_seconds_and_stops_at_6_hours():
    assert [retry_delay(n).total_seconds() for n in range(1, 8)] == [30, 60, 120, 240, 480, 960, 1920]
    assert retry_delay(12) == timedelta(hours=6)
    assert retry_delay(10_000) == timedelta(hours=6)


def test_fan_out_creates_one_delivery_per_interested_active_subscriber():
    everything = SubscriptionFactory(event_types=["*"])
    cancellations = SubscriptionFactory(event_types=["order.cancelled", "order.confirmed"])
    SubscriptionFactory(event_types=["invoice.issued"])
    SubscriptionFactory(event_types=["*"], is_active=False)
    event = order_cancelled()
    now = timezone.now()

    assert outbox_fan_out(now=now) == 1
    assert outbox_fan_out(now=now) == 0  # already fanned out

    assert sorted(Delivery.objects.values_list("subscription_id", flat=True)) == sorted(
        [everything.pk, cancellations.pk]
    )
    assert set(Delivery.objects.values_list("status", "attempts", "next_attempt_at")) == {
        (DeliveryStatus.PENDING, 0, now)
    }
    event.refresh_from_db()
    assert event.dispatched_at == now


def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_try(receiver):
    receiver.answers = [500, 500]
    subscription = SubscriptionFactory(url=receiver.url, event_types=["order.cancelled"])
    event = order_cancelled(total_amount=Decimal("1250.00"))
    t0 = timezone.now()
    outbox_fan_out(now=t0)
    delivery = Delivery.objects.get()

    assert deliveries_send_due(now=t0) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
    assert delivery.next_attempt_at == t0 + 30 * S
    assert delivery.lease_until is None

    assert deliveries_send_due(now=t0 + 29 * S) == 0  # not due yet: the receiver hears nothing
    assert len(receiver.requests) == 1

    assert deliveries_send_due(now=t0 + 30 * S) == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (2, t0 + 30 * S + 60 * S)

    assert deliveries_send_due(now=t0 + 90 * S) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 3, 200)
    assert delivery.delivered_at == t0 + 90 * S
    assert delivery.last_error == ""

    # The third request is the one that got through; it is signed with the subscription's secret.
    assert len(receiver.requests) == 3
    got = receiver.requests[-1]
    assert verify_signature(subscription.secret, got.headers["X-O2C-Signature"], got.body)
    assert not verify_signature("another-secret", got.headers["X-O2C-Signature"], got.body)
    assert not verify_signature(subscription.secret, got.headers["X-O2C-Signature"], got.body + b" ")
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-O2C-Event-Id"] == str(event.pk)
    assert got.headers["X-O2C-Event-Type"] == "order.cancelled"
    assert json.loads(got.body) == {
        "id": event.pk,
        "type": "order.cancelled",
        "occurred_at": event.occurred_at.isoformat(),
        "data": {"number": "1042", "total_amount": "1250.00"},
    }
    # Every try carried the same event id, so the receiver can drop repeats.
    assert {r.headers["X-O2C-Event-Id"] for r in receiver.requests} == {str(event.pk)}

    log = list(delivery.attempt_log.all())
    assert [a.status_code for a in log] == [500, 500, 200]
    assert [a.at for a in log] == [t0, t0 + 30 * S, t0 + 90 * S]
    assert "HTTP 500" in log[0].error and log[2].error == ""

    assert deliveries_send_due(now=t0 + timedelta(days=1)) == 0
    assert len(receiver.requests) == 3


def test_an_event_recorded_in_a_rolled_back_transaction_is_never_delivered(receiver):
    SubscriptionFactory(url=receiver.url)

    with pytest.raises(RuntimeError), transaction.atomic():
        order_cancelled("1")
        raise RuntimeError("the order change failed")
    order_cancelled("2")

    outbox_dispatch_pending()
    assert list(OutboxEvent.objects.values_list("aggregate_id", flat=True)) == ["2"]
    assert [json.loads(r.body)["data"]["number"] for r in receiver.requests] == ["2"]


def test_after_max_attempts_the_delivery_fails_and_is_not_tried_again(receiver):
    receiver.answers = [503] * 10
    SubscriptionFactory(url=receiver.url, max_attempts=3)
    order_cancelled()
    now = timezone.now()
    outbox_fan_out(now=now)
    delivery = Delivery.objects.get()

    for _ in range(3):
        assert deliveries_send_due(now=now) == 1
        delivery.refresh_from_db()
        now = delivery.next_attempt_at

    assert (delivery.status, delivery.attempts, delivery.delivered_at) == (DeliveryStatus.FAILED, 3, None)
    assert "HTTP 503" in delivery.last_error
    assert deliveries_send_due(now=now + timedelta(days=2)) == 0
    assert len(receiver.requests) == 3
    assert delivery.attempt_log.count() == 3


def test_one_unreachable_subscriber_does_not_stop_the_others(receiver):
    dead = SubscriptionFactory(name="dead", url="http://127.0.0.1:1/hooks")
    alive = SubscriptionFactory(name="alive", url=receiver.url)
    order_cancelled()

    assert outbox_dispatch_pending() == {"events": 1, "attempts": 2}

    to_dead = Delivery.objects.get(subscription=dead)
    assert (to_dead.status, to_dead.attempts, to_dead.last_status_code) == (DeliveryStatus.PENDING, 1, None)
    assert "URLError" in to_dead.last_error and "refused" in to_dead.last_error.lower()
    assert Delivery.objects.get(subscription=alive).status == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 1


def test_a_redirect_is_a_failed_attempt_not_a_delivery(receiver):
    receiver.answers = [302]
    SubscriptionFactory(url=receiver.url)
    order_cancelled()

    outbox_dispatch_pending()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.PENDING, 302)
    assert len(receiver.requests) == 1  # not followed (urllib would re-send it as a GET)


def test_a_paused_subscription_keeps_its_deliveries_until_it_is_active_again(receiver):
    subscription = SubscriptionFactory(url=receiver.url)
    order_cancelled()
    outbox_fan_out()
    subscription.is_active = False
    subscription.save()

    assert deliveries_send_due() == 0
    subscription.is_active = True
    subscription.save()
    assert deliveries_send_due() == 1
    assert len(receiver.requests) == 1


def test_redelivery_sends_a_delivered_event_again_and_is_audited(receiver, role_user):
    SubscriptionFactory(url=receiver.url, max_attempts=2)
    event = order_cancelled()
    t0 = timezone.now()
    outbox_dispatch_pending(now=t0)
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    admin = role_user("admin")
    t1 = t0 + timedelta(hours=1)

    delivery = delivery_redeliver(delivery=delivery, actor=admin, via="web", now=t1)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.PENDING, 0, t1)
    assert delivery.delivered_at is None
    entry = audit_trail_for(delivery).get()
    assert (entry.action, entry.changes, entry.actor, entry.via) == (
        AuditAction.TRANSITION,
        {"status": ["delivered", "pending"]},
        admin,
        "web",
    )
    assert entry.note == "Redelivery requested."

    assert deliveries_send_due(now=t1) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [r.headers["X-O2C-Event-Id"] for r in receiver.requests] == [str(event.pk)] * 2
    assert delivery.attempt_log.count() == 2  # the log keeps the first delivery too


def test_redelivery_of_a_failed_delivery_gives_it_a_fresh_set_of_attempts(receiver, role_user):
    receiver.answers = [500]
    SubscriptionFactory(url=receiver.url, max_attempts=1)
    order_cancelled()
    outbox_dispatch_pending()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED

    delivery_redeliver(delivery=delivery, actor=role_user("admin"))
    outbox_dispatch_pending()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 200]


def test_redelivery_is_refused_while_pending_and_to_finance(role_user):
    subscription = SubscriptionFactory()
    order_cancelled()
    outbox_fan_out()
    delivery = Delivery.objects.get(subscription=subscription)

    with pytest.raises(ApplicationError) as pending:
        delivery_redeliver(delivery=delivery, actor=role_user("admin"))
    assert pending.value.code == ErrorCode.INVALID_STATE

    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    with pytest.raises(ApplicationError) as finance:
        delivery_redeliver(delivery=delivery, actor=role_user("finance"))
    assert finance.value.code == ErrorCode.PERMISSION_DENIED
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert not audit_trail_for(delivery).exists()


# The sales rep by email ---------------------------------------------------------------------------


def test_the_sales_rep_gets_one_email_however_often_the_dispatcher_runs(mailoutbox):
    SubscriptionFactory(kind=SubscriptionKind.SALES_REP_EMAIL, url="", event_types=["order.cancelled"])
    order_cancelled(
        "1042", customer_name="Fjällbacka Bygg AB", sales_rep_email="anna@example.com", reason="Out of budget"
    )
    now = timezone.now()

    outbox_dispatch_pending(now=now)
    outbox_dispatch_pending(now=now + timedelta(hours=1))

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["anna@example.com"]
    assert mail.subject == "[o2c] Order 1042 cancelled"
    assert "Order 1042 for Fjällbacka Bygg AB is cancelled." in mail.body
    assert "Reason: Out of budget" in mail.body
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempt_log.get().note == "Emailed anna@example.com."


def test_no_sales_rep_email_means_delivered_with_a_note_and_no_mail(mailoutbox):
    SubscriptionFactory(kind=SubscriptionKind.SALES_REP_EMAIL, url="")
    order_cancelled(sales_rep_email="")

    outbox_dispatch_pending()

    assert mailoutbox == []
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempt_log.get().note == "No sales rep email on the event; nothing to send."


def test_an_smtp_server_that_does_not_answer_is_retried(settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    SubscriptionFactory(kind=SubscriptionKind.SALES_REP_EMAIL, url="")
    order_cancelled(sales_rep_email="anna@example.com")

    outbox_dispatch_pending()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "ConnectionRefusedError" in delivery.last_error
