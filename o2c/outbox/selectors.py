from django.db.models import Count, Q, QuerySet

from .models import Delivery, DeliveryStatus, OutboxEvent, WebhookSubscription


def events_for(*, aggregate_type: str, aggregate_id) -> QuerySet[OutboxEvent]:
    """A record's events, oldest first: the timeline on its page."""
    return OutboxEvent.objects.filter(aggregate_type=aggregate_type, aggregate_id=str(aggregate_id)).select_related(
        "actor"
    )


def subscription_list(*, search: str = "") -> QuerySet[WebhookSubscription]:
    """Subscriptions with how many of their deliveries are pending and failed (for the list page)."""
    subscriptions = WebhookSubscription.objects.annotate(
        pending_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        failed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
    )
    if search:
        subscriptions = subscriptions.filter(Q(name__icontains=search) | Q(url__icontains=search))
    return subscriptions


def delivery_list(*, subscription: WebhookSubscription | None = None) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.select_related("event", "subscription")
    if subscription is not None:
        deliveries = deliveries.filter(subscription=subscription)
    return deliveries


def delivery_get(*, pk: int) -> Delivery:
    """One delivery with its event, subscription and attempt log (oldest first)."""
    return delivery_list().prefetch_related("attempt_log").get(pk=pk)
