"""Two dispatchers at once (two Celery workers, or beat's sweep beside an on-commit kick), on real PostgreSQL."""

import threading
from collections import Counter

import pytest
from django.db import connection, transaction

from o2c.outbox.delivery import deliveries_send_due, outbox_fan_out
from o2c.outbox.models import Delivery, DeliveryStatus, OutboxEvent
from tests.outbox.factories import EventFactory, SubscriptionFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_threads(work, count: int = 2) -> list:
    """Run `work()` in `count` threads released together; each has its own database connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(index):
        try:
            barrier.wait(10)
            results[index] = work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a dispatcher hung"
    if errors:
        raise errors[0]
    return results


def drain(step):
    def work():
        done = 0
        while claimed := step():
            done += claimed
        return done

    return work


def test_two_fan_outs_at_once_fan_each_event_out_once():
    subscriptions = SubscriptionFactory.create_batch(2)
    OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(event_type="order.cancelled", aggregate_type="order", aggregate_id=str(i), payload={})
            for i in range(300)
        ]
    )

    claimed = in_threads(drain(lambda: outbox_fan_out(batch=7)))

    assert sum(claimed) == 300  # no event was claimed by both
    assert Delivery.objects.count() == 600
    per_subscription = Counter(Delivery.objects.values_list("subscription_id", flat=True))
    assert per_subscription == {s.pk: 300 for s in subscriptions}
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_a_fan_out_skips_events_another_one_holds_instead_of_waiting():
    SubscriptionFactory()
    held, free = EventFactory(), EventFactory()

    with transaction.atomic():
        OutboxEvent.objects.select_for_update().get(pk=held.pk)  # another fan-out is working on it
        [claimed] = in_threads(outbox_fan_out, count=1)
        assert claimed == 1
        assert list(Delivery.objects.values_list("event_id", flat=True)) == [free.pk]

    assert outbox_fan_out() == 1  # once released, the next run takes it
    assert sorted(Delivery.objects.values_list("event_id", flat=True)) == sorted([held.pk, free.pk])


def test_two_senders_at_once_send_each_delivery_once(receiver):
    subscription = SubscriptionFactory(url=receiver.url)
    for _ in range(20):
        Delivery.objects.create(event=EventFactory(), subscription=subscription)

    sent = in_threads(drain(lambda: deliveries_send_due(batch=3)))

    assert sum(sent) == 20
    per_delivery = Counter(r.headers["X-O2C-Delivery-Id"] for r in receiver.requests)
    assert len(per_delivery) == 20 and set(per_delivery.values()) == {1}
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED, attempts=1).count() == 20
