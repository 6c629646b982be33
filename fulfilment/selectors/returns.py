"""Reads for returns (RMAs)."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from orders.models import Order, OrderLine

from ..models import LineAllocation, ReturnAuthorization, ReturnLine, ReturnStatus

__all__ = ["ReturnableLine", "order_lines_returnable", "return_get", "return_list"]

# The list shows what still needs the warehouse unless asked for another status.
ACTIVE_RETURN_STATUSES = (ReturnStatus.OPEN, ReturnStatus.RECEIVED)


def return_list(*, status: str = "", query: str = "") -> QuerySet[ReturnAuthorization]:
    """RMAs with order, customer and line count, newest first; by default the open and received ones."""
    rmas = ReturnAuthorization.objects.select_related("order__customer").annotate(line_count=Count("lines"))
    rmas = rmas.filter(status=status) if status else rmas.filter(status__in=ACTIVE_RETURN_STATUSES)
    if query:
        match = Q(number__icontains=query)
        if query.isdigit():
            match |= Q(order__number=int(query))
        rmas = rmas.filter(match)
    return rmas.order_by("-created_at", "-id")


def return_get(*, pk: int) -> ReturnAuthorization:
    return (
        ReturnAuthorization.objects.select_related("order__customer", "created_by")
        .prefetch_related(
            Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line__product").order_by("pk"))
        )
        .get(pk=pk)
    )


@dataclass
class ReturnableLine:
    order_line: OrderLine
    shipped: Decimal
    authorised: Decimal
    field: object = field(default=None)

    @property
    def may(self) -> Decimal:
        return self.shipped - self.authorised


def order_lines_returnable(*, order: Order) -> list[ReturnableLine]:
    """The order's shipped lines, each with what shipped and what earlier RMAs already authorise."""
    authorised = dict(
        ReturnLine.objects.filter(order_line__order=order)
        .values("order_line_id")
        .annotate(total=Sum("quantity"))
        .values_list("order_line_id", "total")
    )
    allocations = (
        LineAllocation.objects.filter(order_line__order=order, shipped__gt=0)
        .select_related("order_line__product")
        .order_by("order_line__position")
    )
    return [ReturnableLine(a.order_line, a.shipped, authorised.get(a.order_line_id, Decimal(0))) for a in allocations]
