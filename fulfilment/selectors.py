import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from orders.models import Customer, CustomerStatus, Order, OrderHold, OrderStatus

from .models import LineAllocation, ReleaseDelay, StockItem, Warehouse


def warehouse_default() -> Warehouse:
    warehouse = Warehouse.objects.filter(is_default=True).first()
    if warehouse is None:
        warehouse, _ = Warehouse.objects.get_or_create(
            code="main", defaults={"name": "Main warehouse", "is_default": True}
        )
    return warehouse


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
    """Waiting orders whose time has come and that can go to picking now.

    Reads the partial index on release_at (status = awaiting_release), so orders not yet due cost
    nothing. Left waiting: orders with an open hold, of a blocked customer, with nothing in stock
    to pick, and ship-complete orders with anything backordered.
    """
    open_hold = OrderHold.objects.filter(order=OuterRef("pk"), satisfied_at__isnull=True)
    backordered = LineAllocation.objects.filter(order_line__order=OuterRef("pk"), backordered__gt=0)
    reserved = LineAllocation.objects.filter(order_line__order=OuterRef("pk"), reserved__gt=0)
    only_services = ~Exists(LineAllocation.objects.filter(order_line__order=OuterRef("pk")))
    return (
        Order.objects.filter(status=OrderStatus.AWAITING_RELEASE, release_at__lte=now)
        .exclude(customer__status=CustomerStatus.BLOCKED)
        .filter(~Exists(open_hold))
        .filter(Exists(reserved) | only_services)
        .exclude(Q(ship_complete=True) & Exists(backordered))
        .order_by("release_at", "pk")
    )


def orders_waiting_for_release() -> QuerySet[Order]:
    return Order.objects.filter(status=OrderStatus.AWAITING_RELEASE).select_related("customer").order_by("release_at")


def stock_items_for(*, product_ids: list[int], warehouse: Warehouse) -> dict[int, StockItem]:
    return {item.product_id: item for item in StockItem.objects.filter(warehouse=warehouse, product_id__in=product_ids)}
