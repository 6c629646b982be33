from django.dispatch import receiver

from o2c.common import events

from . import services


@receiver(events.return_received, dispatch_uid="invoicing.credit_returned_goods")
def credit_returned_goods(sender, rma, actor=None, **kwargs) -> None:
    services.credit_notes_for_return(rma=rma, actor=actor, via="return")
