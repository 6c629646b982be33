"""Credit decisions on orders. The full credit stage (limits per group, late-payer holds, credit
reports) builds on this; today it checks the customer's credit limit against open orders."""

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from o2c.common.db import service_atomic
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.roles import user_can
from o2c.common.templatetags.o2c import money
from orders import services as order_services
from orders.models import Order, OrderStatus

from .selectors import customer_credit_locked


@service_atomic
def credit_check_order(*, order: Order, actor: User | None = None, via: str = "") -> Order:
    """Confirm a submitted order within the customer's credit limit; hold it otherwise.

    The customer row is locked so two orders of one customer are checked one after the other
    and cannot both pass on the same headroom.
    """
    customer = order.customer
    credit_limit, open_orders = customer_credit_locked(customer_id=order.customer_id, excluding=order)
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
