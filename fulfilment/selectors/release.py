import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, Max, Min, OuterRef, QuerySet

from credit.selectors import customers_refused_credit
from o2c.common.models import AuditAction, AuditEntry
from orders.models import Customer, Order, OrderHold, OrderStatus

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
    open hold. Credit is checked on the locked batch (orders_refused_credit_at_release).
    """
    open_hold = OrderHold.objects.filter(order=OuterRef("pk"), satisfied_at__isnull=True)
    return (
        Order.objects.filter(status=OrderStatus.AWAITING_RELEASE, release_at__lte=now)
        .filter(~Exists(open_hold))
        .order_by("release_at", "pk")
    )


def orders_refused_credit_at_release(*, order_ids: list[int]) -> dict[int, str]:
    """Of these due orders, those credit refuses now, each with the reason: the customer is blocked,
    or its open orders exceed its current credit limit (credit.selectors.customers_refused_credit).

    Two queries a batch whatever its size, and the second sums open orders only for customers
    changed since the batch's orders were checked at confirmation. An order over the limit that
    finance let through from credit hold after the customer's last change is not held again:
    finance's decision stands until the customer's credit terms change.
    """
    created = dict(
        Order.objects.filter(pk__in=order_ids)
        .values("customer_id")
        .annotate(first=Min("created_at"))
        .values_list("customer_id", "first")
    )
    if not created:
        return {}
    refused = customers_refused_credit(customer_ids=created, changed_since=min(created.values()))
    if not refused:
        return {}
    held = list(Order.objects.filter(pk__in=order_ids, customer_id__in=refused).values_list("pk", "customer_id"))
    over_limit = [str(pk) for pk, customer_id in held if not refused[customer_id].blocked]
    let_through = {}
    if over_limit:  # when finance last let each of them through from credit hold
        let_through = dict(
            AuditEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(Order),
                object_id__in=over_limit,
                action=AuditAction.TRANSITION,
                changes__status=[OrderStatus.CREDIT_HOLD, OrderStatus.CONFIRMED],
            )
            .values("object_id")
            .annotate(last=Max("at"))
            .values_list("object_id", "last")
        )
    return {
        pk: refused[customer_id].reason
        for pk, customer_id in held
        if not (str(pk) in let_through and let_through[str(pk)] > refused[customer_id].changed_at)
    }


def orders_pickable(*, order_ids) -> set[int]:
    """Of these orders, those with something to pick now: a reserved line, or no stock lines at all
    (services only); a ship-complete order only when nothing is backordered."""
    allocations = LineAllocation.objects.filter(order_line__order_id__in=order_ids).values_list(
        "order_line__order_id", "reserved", "backordered", "order_line__order__ship_complete"
    )
    return pickable_among(order_ids=order_ids, allocations=allocations)


def pickable_among(*, order_ids, allocations) -> set[int]:
    """orders_pickable's rule on allocations in hand: (order id, reserved, backordered, ship complete)
    for every allocation of these orders (a new order's, made a moment ago, need no query)."""
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
