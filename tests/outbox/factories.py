import factory

from o2c.outbox.models import Delivery, OutboxEvent, SubscriptionKind, WebhookSubscription


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookSubscription

    name = factory.Sequence(lambda n: f"Subscriber {n}")
    kind = SubscriptionKind.WEBHOOK
    url = "http://127.0.0.1:9/hooks"
    event_types = factory.LazyFunction(lambda: ["*"])


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxEvent

    event_type = "order.cancelled"
    aggregate_type = "order"
    aggregate_id = factory.Sequence(lambda n: str(1000 + n))
    payload = factory.LazyAttribute(lambda e: {"number": e.aggregate_id})


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    event = factory.SubFactory(EventFactory)
    subscription = factory.SubFactory(SubscriptionFactory)
