"""Fulfilment settings that managers change in the UI: the release delay per channel."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from o2c.common.audit import audit_changed, audit_created, snapshot
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.roles import user_can
from orders.models import Channel

from ..models import ReleaseDelay

# A week: a longer wait is a hold, not a delay.
RELEASE_DELAY_MAX_MINUTES = 7 * 24 * 60


@transaction.atomic
def release_delay_set(*, channel: str, minutes: int, actor: User | None, via: str = "") -> ReleaseDelay:
    """Set how long orders from a channel wait before picking. Applies to orders confirmed from now on."""
    if actor is not None and not user_can(actor, "order.reschedule_release"):
        raise ApplicationError(
            code=ErrorCode.PERMISSION_DENIED, message=_("Only a manager may change the release delay.")
        )
    if channel not in Channel.values:
        raise ValidationError({"channel": [_("Unknown channel %(channel)r.") % {"channel": channel}]})
    if minutes is None or not 0 <= minutes <= RELEASE_DELAY_MAX_MINUTES:
        raise ValidationError({"minutes": [_("A delay is 0 to %(max)d minutes.") % {"max": RELEASE_DELAY_MAX_MINUTES}]})
    delay = ReleaseDelay.objects.select_for_update().filter(channel=channel).first()
    if delay is None:
        try:
            with transaction.atomic():
                delay = ReleaseDelay.objects.create(channel=channel, minutes=minutes)
        except IntegrityError:  # another manager created it at the same moment: change theirs
            delay = ReleaseDelay.objects.select_for_update().get(channel=channel)
        else:
            audit_created(instance=delay, actor=actor, via=via)
            return delay
    before = snapshot(delay, ["minutes"])
    delay.minutes = minutes
    delay.save(update_fields=["minutes"])
    audit_changed(instance=delay, before=before, actor=actor, via=via)
    return delay
