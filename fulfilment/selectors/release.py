import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from orders.models import Customer, CustomerStatus, Order, OrderHold, OrderStatus

from ..models import LineAllocation, ReleaseDelay


def release_delay_for(*, order: Order, customer: Customer) -> datetime.timedelta:
    """The customer's delay if set, else the channel's, else O2C_DEFAULT_RELEASE_DELAY_MINUTES (30)."""
    if customer.release_delay_minutes is not None:
        minutes = customer.release_delay_minutes
    else:
        minutes = ReleaseDelay.objects.filter(channel=order.channel).values_list("minutes", flat=True).first()
        if minutes is None:
            minutes = settings.O2C_DEFAULT_RELEASE_DELAY_MINUTES
    return datetime.timedelta(minutes=minutes)


def orders_due_for_release(*, now: datetime.datetime) -> QuerySet[Order]:
    """Waiting orders whose release time has passed and that can go to picking now.

    Reads the partial index on release_at (status = awaiting_release), so orders not yet due cost
    nothing, and orders waiting for stock have no release_at at all. Left waiting: orders with an
    open hold and orders of a blocked customer.
    """
    open_hold = OrderHold.objects.filter(order=OuterRef("pk"), satisfied_at__isnull=True)
    return (
        Order.objects.filter(status=OrderStatus.AWAITING_RELEASE, release_at__lte=now)
        .exclude(customer__status=CustomerStatus.BLOCKED)
        .filter(~Exists(open_hold))
        .order_by("release_at", "pk")
    )


def orders_pickable(*, order_ids) -> set[int]:
    """Of these orders, those with something to pick now: a reserved line, or no stock lines at all
    (services only); a ship-complete order only when nothing is backordered."""
    allocations = LineAllocation.objects.filter(order_line__order_id__in=order_ids).values_list(
        "order_line__order_id", "reserved", "backordered", "order_line__order__ship_complete"
    )
    state: dict[int, list[bool]] = {order_id: [False, False, False] for order_id in order_ids}  # any, reserved, short
    ship_complete: dict[int, bool] = {}
    for order_id, reserved, backordered, complete in allocations:
        entry = state[order_id]
        entry[0] = True
        entry[1] = entry[1] or reserved > 0
        entry[2] = entry[2] or backordered > 0
        ship_complete[order_id] = complete
    return {
        order_id
        for order_id, (any_stock, reserved, short) in state.items()
        if not any_stock or (reserved and not (ship_complete.get(order_id) and short))
    }


def orders_waiting_for_release() -> QuerySet[Order]:
    return Order.objects.filter(status=OrderStatus.AWAITING_RELEASE).select_related("customer").order_by("release_at")
