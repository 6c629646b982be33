from django.dispatch import receiver

from o2c.common import events

from . import services


@receiver(events.order_submitted, dispatch_uid="credit.check_submitted_order")
def check_submitted_order(sender, order, actor=None, via="", **kwargs) -> None:
    services.credit_check_order(order=order, actor=actor, via=via)
