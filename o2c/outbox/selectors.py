from django.db.models import QuerySet

from .models import OutboxEvent


def events_for(*, aggregate_type: str, aggregate_id) -> QuerySet[OutboxEvent]:
    """A record's events, oldest first: the timeline on its page."""
    return OutboxEvent.objects.filter(aggregate_type=aggregate_type, aggregate_id=str(aggregate_id)).select_related(
        "actor"
    )
