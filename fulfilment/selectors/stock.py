"""Reads for the stock and release pages and the stock-levels API."""

from decimal import Decimal

from django.conf import settings
from django.db.models import (
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from orders.models import Channel, Order, OrderHold, OrderStatus, Product

from ..models import QUANTITY, LineAllocation, ReleaseDelay, StockItem, StockMove, Warehouse
from .release import orders_waiting_for_release

# Orders whose backorders still wait for stock (the same states _allocate_backorders fills).
OPEN_ORDER_STATES = [
    OrderStatus.CONFIRMED,
    OrderStatus.AWAITING_RELEASE,
    OrderStatus.RELEASED,
    OrderStatus.PARTIALLY_SHIPPED,
]


def _quantity() -> DecimalField:
    return DecimalField(**QUANTITY)


def stock_item_list(*, search: str = "") -> QuerySet[StockItem]:
    """Stock items with their product and warehouse, `available` and the open `backordered` sum.

    Both are annotations, so the list can filter and sort on them in the database.
    """
    backordered = (
        LineAllocation.objects.filter(
            stock_item=OuterRef("pk"), backordered__gt=0, order_line__order__status__in=OPEN_ORDER_STATES
        )
        .values("stock_item")
        .annotate(total=Sum("backordered"))
        .values("total")
    )
    items = StockItem.objects.select_related("product", "warehouse").annotate(
        available_quantity=ExpressionWrapper(F("on_hand") - F("reserved"), output_field=_quantity()),
        backordered_quantity=Coalesce(
            Subquery(backordered, output_field=_quantity()), Value(Decimal(0)), output_field=_quantity()
        ),
    )
    return items.filter(stock_item_search(search)) if search.strip() else items


def stock_item_search(search: str) -> Q:
    """Stock items whose SKU or product name contains the term."""
    search = search.strip()
    return Q(product__sku__icontains=search) | Q(product__name__icontains=search)


def stock_item_get(*, pk: int) -> StockItem:
    return stock_item_list().get(pk=pk)


def stock_move_list(*, stock_item: StockItem) -> QuerySet[StockMove]:
    """The item's ledger, newest first, with who did it and for which order."""
    return StockMove.objects.filter(stock_item=stock_item).select_related("actor", "order_line__order").order_by("-id")


def stock_item_allocations(*, stock_item: StockItem) -> QuerySet[LineAllocation]:
    """The open orders holding a reservation or waiting on a backorder of this item, oldest first."""
    return (
        LineAllocation.objects.filter(stock_item=stock_item, order_line__order__status__in=OPEN_ORDER_STATES)
        .filter(Q(reserved__gt=0) | Q(backordered__gt=0))
        .select_related("order_line__order__customer")
        .order_by("order_line__order__number", "order_line__position")
    )


def stock_products_by_sku(*, skus: list[str]) -> dict[str, Product]:
    return {product.sku: product for product in Product.objects.filter(sku__in=skus)}


def stock_item_pks_by_product(*, product_ids: list[int], warehouse: Warehouse) -> dict[int, int]:
    return dict(
        StockItem.objects.filter(warehouse=warehouse, product_id__in=product_ids).values_list("product_id", "pk")
    )


def release_waiting_list(*, search: str = "") -> QuerySet[Order]:
    """Orders waiting for release, each with its customer and its open holds (`open_holds`)."""
    open_hold = OrderHold.objects.filter(order=OuterRef("pk"), satisfied_at__isnull=True)
    orders = (
        orders_waiting_for_release()
        .annotate(has_open_hold=Exists(open_hold))
        .prefetch_related(
            Prefetch("holds", queryset=OrderHold.objects.filter(satisfied_at__isnull=True), to_attr="open_holds")
        )
    )
    return orders.filter(release_search(search)) if search.strip() else orders


def release_search(search: str) -> Q:
    """Orders by number, customer number or name, or the channel's order id."""
    search = search.strip()
    condition = Q(customer__name__icontains=search) | Q(customer__number=search) | Q(external_reference=search)
    if search.isdigit():
        condition |= Q(number=int(search))
    return condition


def release_delay_list() -> list[dict]:
    """Every channel with its delay in minutes, None where the default applies."""
    delays = dict(ReleaseDelay.objects.values_list("channel", "minutes"))
    return [{"channel": value, "label": label, "minutes": delays.get(value)} for value, label in Channel.choices]


def release_delay_default_minutes() -> int:
    """The delay of a channel with none of its own (O2C_DEFAULT_RELEASE_DELAY_MINUTES)."""
    return settings.O2C_DEFAULT_RELEASE_DELAY_MINUTES
