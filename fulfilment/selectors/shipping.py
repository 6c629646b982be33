"""Reads for picking, packing, shipping and returns: the warehouse queue, batch picking, shipments."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, F, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from orders.models import Order

from ..models import (
    ACTIVE_PICK_LIST_STATUSES,
    QUANTITY,
    BatchPickList,
    LineAllocation,
    PickList,
    PickListLine,
    PickListStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)


def pick_list_list(*, status: str | None = None) -> QuerySet[PickList]:
    """Pick lists with their order and customer, oldest first (the warehouse works first in, first out)."""
    pick_lists = PickList.objects.select_related("order__customer").annotate(line_count=Count("lines"))
    if status is not None:
        pick_lists = pick_lists.filter(status=status)
    return pick_lists.order_by("created_at", "id")


def pick_list_get(*, pk: int) -> PickList:
    """A pick list with its lines (bin order), their products and its order."""
    return (
        PickList.objects.select_related("order__customer", "warehouse")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=PickListLine.objects.select_related("order_line__product").order_by(
                    "bin_location", "order_line__position", "id"
                ),
            )
        )
        .get(pk=pk)
    )


def pick_list_active_for_order(*, number: int) -> PickList | None:
    """The pick list of an order the warehouse is working on now (a scanned order number)."""
    return PickList.objects.filter(order__number=number, status__in=ACTIVE_PICK_LIST_STATUSES).order_by("id").first()


@dataclass
class BatchLine:
    """One stop on a batch pick walk: a bin, what to take from it, and which list each piece is for."""

    bin_location: str
    sku: str
    description: str
    quantity: Decimal = Decimal(0)
    for_lists: list[tuple[int, int, Decimal]] = field(default_factory=list)  # (pick list id, order number, qty)


def pick_lists_batch(*, pick_list_ids: list[int]) -> list[BatchLine]:
    """The lines of many open pick lists merged per bin and product, sorted by bin for one walk."""
    lines = (
        PickListLine.objects.filter(pick_list_id__in=pick_list_ids, pick_list__status=PickListStatus.OPEN)
        .select_related("order_line__product", "pick_list__order")
        .order_by("bin_location", "order_line__product__sku", "pick_list_id", "id")
    )
    merged: dict[tuple[str, int], BatchLine] = {}
    for line in lines:
        product = line.order_line.product
        stop = merged.setdefault(
            (line.bin_location, product.pk),
            BatchLine(bin_location=line.bin_location, sku=product.sku, description=product.name),
        )
        stop.quantity += line.quantity
        stop.for_lists.append((line.pick_list_id, line.pick_list.order.number, line.quantity))
    return sorted(merged.values(), key=lambda stop: (stop.bin_location, stop.sku))


def pick_lists_open_ids(*, pick_list_ids: list[int]) -> list[int]:
    """Of these pick lists, the open ones, by id (what a batch pick list can walk)."""
    return list(
        PickList.objects.filter(pk__in=pick_list_ids, status=PickListStatus.OPEN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def batch_pick_list_get(*, pk: int) -> BatchPickList:
    return BatchPickList.objects.select_related("requested_by").get(pk=pk)


def allocations_unlisted(*, order_ids) -> QuerySet[LineAllocation]:
    """Allocations with reserved stock that no active pick list covers yet, `unlisted` annotated.

    One statement, so it reads reservations and pick lists from the same snapshot: a concurrent
    commit cannot make the same stock look unlisted twice.
    """
    listed = (
        PickListLine.objects.filter(
            order_line_id=OuterRef("order_line_id"), pick_list__status__in=ACTIVE_PICK_LIST_STATUSES
        )
        .values("order_line_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    zero = Value(Decimal(0), output_field=DecimalField(**QUANTITY))
    return (
        LineAllocation.objects.filter(order_line__order_id__in=order_ids, reserved__gt=0)
        .annotate(
            listed=Coalesce(Subquery(listed, output_field=DecimalField(**QUANTITY)), zero),
            order_id=F("order_line__order_id"),
        )
        .select_related("stock_item")
        .order_by("order_line__order_id", "order_line__position")
    )


def shipment_list() -> QuerySet[Shipment]:
    return Shipment.objects.select_related("order__customer", "pick_list").annotate(
        package_count=Count("packages", distinct=True)
    )


def shipment_get_detailed() -> QuerySet[Shipment]:
    """Shipments with lines and packages prefetched, for the API and the shipment page."""
    return (
        Shipment.objects.select_related("order__customer", "created_by")
        .prefetch_related(
            Prefetch("lines", queryset=ShipmentLine.objects.select_related("order_line__product")),
            "packages",
        )
        .order_by("-id")
    )


def shipments_shipped_on(*, day: datetime.date) -> QuerySet[Shipment]:
    return shipment_list().filter(status=ShipmentStatus.SHIPPED, ship_date=day).order_by("-shipped_at", "-id")


def shipments_to_ship() -> QuerySet[Shipment]:
    return shipment_list().filter(status=ShipmentStatus.PACKED).order_by("created_at", "id")


def order_shipping_state(*, order: Order) -> dict[int, LineAllocation]:
    """The allocation of each of an order's lines, by order line id."""
    return {a.order_line_id: a for a in LineAllocation.objects.filter(order_line__order=order)}
