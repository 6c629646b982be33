from decimal import Decimal

from django.db.models import Sum

from orders.models import Customer, Order, OrderStatus

# Orders that will become receivables: everything accepted and not yet invoiced. (Invoiced and
# unpaid amounts join the exposure when receivables arrive.)
EXPOSURE_STATUSES = [
    OrderStatus.SUBMITTED,
    OrderStatus.CREDIT_HOLD,
    OrderStatus.CONFIRMED,
    OrderStatus.AWAITING_RELEASE,
    OrderStatus.RELEASED,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
]


def customer_open_order_exposure(*, customer: Customer, excluding: Order | None = None) -> Decimal:
    orders = Order.objects.filter(customer=customer, status__in=EXPOSURE_STATUSES)
    if excluding is not None:
        orders = orders.exclude(pk=excluding.pk)
    return orders.aggregate(total=Sum("gross_amount"))["total"] or Decimal(0)
