from django.dispatch import receiver

from o2c.common import events

from . import services


@receiver(events.order_confirmed, dispatch_uid="fulfilment.schedule_confirmed_order")
def schedule_confirmed_order(sender, order, actor=None, via="", **kwargs) -> None:
    services.order_schedule_release(order=order)


@receiver(events.order_cancelled, dispatch_uid="fulfilment.withdraw_cancelled_order")
def withdraw_cancelled_order(sender, order, actor=None, via="", **kwargs) -> None:
    services.order_withdraw_from_warehouse(order=order, actor=actor, note=order.cancel_reason)
