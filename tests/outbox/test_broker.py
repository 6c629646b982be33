"""The broker path: a dead broker never fails the business change; a real worker delivers over Redis."""

import logging
import time
import uuid

import pytest
from django.conf import settings
from django.db import transaction

from o2c.celery import app
from o2c.outbox import services as outbox_services
from o2c.outbox.models import Delivery, DeliveryStatus, OutboxEvent
from o2c.outbox.services import event_record
from tests.outbox.factories import SubscriptionFactory

DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def broker_url(celery_broker):
    return celery_broker


@pytest.mark.django_db(transaction=True)
def test_a_dead_broker_loses_nothing_and_a_real_worker_delivers(settings, broker_url, receiver, caplog, monkeypatch):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs Redis (the real broker); set CELERY_BROKER_URL or start it on :6379")
    # The kick pauses itself after a failure; start unpaused and leave no pause behind for other tests.
    monkeypatch.setattr(outbox_services, "_kick_paused_until", 0.0)
    monkeypatch.setattr(outbox_services, "_kick_next", 0.0)  # an earlier kick must not hold this one back
    redis_url = settings.CELERY_BROKER_URL
    SubscriptionFactory(url=receiver.url, event_types=["order.cancelled"])

    # Given the broker is down, when an order change commits, then the kick fails quietly and the event is kept.
    settings.CELERY_BROKER_URL = DEAD_BROKER
    settings.O2C_OUTBOX_KICK = True
    broker_url(DEAD_BROKER)
    with caplog.at_level(logging.WARNING, logger="o2c.outbox.services"), transaction.atomic():
        event = event_record(
            event_type="order.cancelled", aggregate_type="order", aggregate_id="1042", payload={"number": "1042"}
        )
    assert OutboxEvent.objects.filter(pk=event.pk, dispatched_at__isnull=True).exists()
    assert "Broker unavailable" in caplog.text
    assert receiver.requests == []

    # When the broker is back and beat sends the sweep, a real worker delivers the event.
    settings.CELERY_BROKER_URL = redis_url
    settings.O2C_OUTBOX_KICK = False
    broker_url(redis_url)
    from celery.contrib.testing.worker import start_worker

    # A queue of our own, so a worker of another test run on the same Redis cannot take the task.
    queue = f"o2c-test-outbox-{uuid.uuid4().hex}"
    consume_from = app.amqp.queues._consume_from
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10, queues=[queue]
        ):
            app.send_task("o2c.outbox.tasks.outbox_dispatch", queue=queue)
            got = receiver.wait_for(1)
    finally:
        app.amqp.queues._consume_from = consume_from

    assert len(got) == 1
    assert got[0].headers["X-O2C-Event-Id"] == str(event.pk)
    delivery = Delivery.objects.get(event=event)
    assert delivery.status == DeliveryStatus.DELIVERED
    event.refresh_from_db()
    assert event.dispatched_at is not None


def test_beat_sweeps_the_outbox_every_minute():
    assert settings.CELERY_BEAT_SCHEDULE["outbox-sweep"] == {
        "task": "o2c.outbox.tasks.outbox_dispatch",
        "schedule": 60.0,
    }


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_commits_kicks_the_dispatcher_twice_not_once_each(settings, broker_url, monkeypatch):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs Redis (the real broker); set CELERY_BROKER_URL or start it on :6379")
    import redis

    # A Redis database of this test's own, so that no other test's kicks are counted.
    url = settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + "/12"
    queue = redis.Redis.from_url(url)
    queue.flushdb()
    settings.O2C_OUTBOX_KICK = True
    monkeypatch.setattr(outbox_services, "_kick_paused_until", 0.0)
    monkeypatch.setattr(outbox_services, "_kick_next", 0.0)
    broker_url(url)
    try:
        # When five changes commit within one kick interval,
        for n in range(5):
            with transaction.atomic():
                event_record(event_type="order.created", aggregate_type="order", aggregate_id=str(n), payload={})
        # then the first kicks at once and the other four wait,
        assert queue.llen("celery") == 1
        # and one more kick at the interval's end covers them (a dispatch delivers every pending event).
        deadline = time.monotonic() + outbox_services.KICK_INTERVAL_SECONDS + 2
        while queue.llen("celery") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(outbox_services.KICK_INTERVAL_SECONDS)
        assert queue.llen("celery") == 2
        assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 5
    finally:
        queue.flushdb()
