import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, DecimalField, F, OuterRef, Q, Subquery, Sum, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from o2c.common.templatetags.o2c import money
from orders.models import OPEN_ORDER_STATUSES, Customer, CustomerStatus, Order, OrderStatus

# Orders that will become receivables: the open ones, everything accepted and not yet invoiced.
# (Invoiced and unpaid amounts join the exposure when receivables arrive.)
EXPOSURE_STATUSES = list(OPEN_ORDER_STATUSES)


def customer_open_order_exposure(*, customer: Customer, excluding: Order | None = None) -> Decimal:
    orders = Order.objects.filter(customer=customer, status__in=EXPOSURE_STATUSES)
    if excluding is not None:
        orders = orders.exclude(pk=excluding.pk)
    return orders.aggregate(total=Sum("gross_amount"))["total"] or Decimal(0)


# The credit check at pick release -----------------------------------------------------------------

# An order on credit hold is not going out; at release it must not hold back the customer's orders
# that are within the limit.
RELEASE_EXPOSURE_STATUSES = [status for status in EXPOSURE_STATUSES if status != OrderStatus.CREDIT_HOLD]


@dataclass(frozen=True)
class CreditRefusal:
    """Why a customer's orders may not go to picking: blocked, or open orders over the credit limit."""

    customer_id: int
    customer_number: str
    blocked: bool
    credit_limit: Decimal
    exposure: Decimal | None
    currency: str
    changed_at: datetime.datetime  # when the customer (its limit, its status) last changed

    @property
    def reason(self) -> str:
        if self.blocked:
            return _("Customer %(number)s is blocked.") % {"number": self.customer_number}
        return _("Credit limit %(limit)s exceeded at release: open orders are %(exposure)s.") % {
            "limit": money(self.credit_limit, self.currency),
            "exposure": money(self.exposure, self.currency),
        }


def customers_refused_credit(
    *, customer_ids: Iterable[int], changed_since: datetime.datetime | None = None
) -> dict[int, CreditRefusal]:
    """Of these customers, those whose orders may not go to picking now, by customer id.

    A customer fails when blocked, or when its open orders (RELEASE_EXPOSURE_STATUSES, gross
    amounts) exceed its current credit limit. One query: each customer's open orders are summed in
    a grouped subquery. With `changed_since`, only customers changed after it are summed: every
    order passed the same limit check when it was confirmed, so an unchanged customer (limit,
    status) cannot have fallen out of it since; this keeps the sweep from summing a big customer's
    open orders once a batch.
    """
    zero = Decimal(0)
    amount = DecimalField(max_digits=18, decimal_places=2)
    exposure = (
        Order.objects.filter(customer_id=OuterRef("pk"), status__in=RELEASE_EXPOSURE_STATUSES)
        .values("customer_id")
        .annotate(total=Sum("gross_amount"))
        .values("total")
    )
    summed = Coalesce(Subquery(exposure, output_field=amount), zero, output_field=amount)
    needs_sum = ~Q(status=CustomerStatus.BLOCKED)
    if changed_since is not None:
        needs_sum &= Q(updated_at__gt=changed_since)
    rows = (
        Customer.objects.filter(pk__in=set(customer_ids))
        # CASE: the subquery runs only for the customers it is needed for.
        .annotate(exposure=Case(When(needs_sum, then=summed), default=None, output_field=amount))
        .filter(Q(status=CustomerStatus.BLOCKED) | Q(exposure__gt=F("credit_limit")))
        .values_list("pk", "number", "status", "credit_limit", "exposure", "currency", "updated_at")
    )
    return {
        pk: CreditRefusal(pk, number, status == CustomerStatus.BLOCKED, limit, exposure, currency, changed_at)
        for pk, number, status, limit, exposure, currency, changed_at in rows
    }
