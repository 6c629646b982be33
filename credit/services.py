"""Credit decisions on orders. The full credit stage (limits per group, late-payer holds, credit
reports) builds on this; today it checks the customer's credit limit against open orders."""

from decimal import Decimal

from django.contrib.auth.models import User
from django.db import connection
from django.utils.translation import gettext as _

from o2c.common.db import execute_prepared, service_atomic
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.roles import user_can
from o2c.common.templatetags.o2c import money
from orders import services as order_services
from orders.models import Customer, Order, OrderStatus

from .selectors import EXPOSURE_STATUSES, customer_open_order_exposure

# The statuses are written into the SQL, not passed as parameters: the statement is prepared
# (execute_prepared), and only with the values in its text can PostgreSQL's generic plan use the
# partial index on open orders (order_customer_open_idx). They are our own constants.
if not all(status.isidentifier() and status.islower() for status in EXPOSURE_STATUSES):
    raise ValueError(f"order statuses must be plain lower-case words to be SQL literals: {EXPOSURE_STATUSES}")
EXPOSURE_SQL = (
    "SELECT c.credit_limit, (SELECT COALESCE(SUM(o.gross_amount), 0) FROM orders_order o "
    "WHERE o.customer_id = c.id AND o.status IN ({}) AND o.id <> %s) "
    "FROM orders_customer c WHERE c.id = %s"
).format(", ".join(f"'{status}'" for status in EXPOSURE_STATUSES))


def _credit_position_locked(*, customer_id: int, excluding: Order | None = None) -> tuple[Decimal, Decimal]:
    """The customer's credit limit and open-order exposure, read after locking the customer's row
    (a read that locks: it lives with the service that needs the lock, not among the selectors).

    The caller's transaction keeps the row locked, so two orders of one customer are checked one
    after the other. The sum is read by a statement that starts after the lock is granted (a
    single statement would sum with a snapshot taken before it, and two orders could pass on the
    same headroom); on PostgreSQL both go in one round trip.
    """
    if connection.vendor != "postgresql":
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        return customer.credit_limit, customer_open_order_exposure(customer=customer, excluding=excluding)
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            [
                ("SELECT 1 FROM orders_customer WHERE id = %s FOR UPDATE", [customer_id]),
                (EXPOSURE_SQL, [excluding.pk if excluding is not None else 0, customer_id]),
            ],
        )
        credit_limit, exposure = cursor.fetchone()
    return credit_limit, exposure


@service_atomic
def credit_check_order(*, order: Order, actor: User | None = None, via: str = "") -> Order:
    """Confirm a submitted order within the customer's credit limit; hold it otherwise.

    The customer row is locked so two orders of one customer are checked one after the other
    and cannot both pass on the same headroom.
    """
    customer = order.customer
    credit_limit, open_orders = _credit_position_locked(customer_id=order.customer_id, excluding=order)
    exposure = open_orders + order.gross_amount
    if credit_limit <= 0:
        reason = _("No credit limit set for customer %(number)s.") % {"number": customer.number}
        return order_services.order_credit_hold(order=order, reason=reason, actor=None, via="credit")
    if exposure > credit_limit:
        reason = _("Credit limit %(limit)s exceeded: open orders would be %(exposure)s.") % {
            "limit": money(credit_limit, customer.currency),
            "exposure": money(exposure, customer.currency),
        }
        return order_services.order_credit_hold(order=order, reason=reason, actor=None, via="credit")
    return order_services.order_confirm(order=order, actor=None, via="credit", note=_("Within credit limit"))


@service_atomic
def credit_hold_release(*, order: Order, note: str, actor: User | None, via: str = "") -> Order:
    """Finance lets an order on credit hold through, with a note saying why."""
    if actor is not None and not user_can(actor, "credit.release"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("Only finance may release credit holds."))
    if order.status != OrderStatus.CREDIT_HOLD:
        raise ApplicationError(code=ErrorCode.INVALID_STATE, message=_("The order is not on credit hold."))
    note = (note or "").strip() or _("Released by finance")
    return order_services.order_confirm(order=order, actor=actor, via=via, note=note)
