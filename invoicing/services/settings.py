"""The company's invoicing settings and the per-channel auto-approval amounts, changed by an administrator."""

from decimal import Decimal

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.common.audit import audit_changed, audit_created, audit_record, snapshot
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditAction
from o2c.common.roles import user_can
from orders.models import Channel, Company

from ..models import ChannelAutoApproval, InvoicingSettings
from .drafting import invoicing_settings_for

SETTINGS_FIELDS = ["round_to_whole_units", "auto_approve_below", "second_approval_from", "footer", "logo"]
LOGO_MAX_BYTES = 1_000_000
LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/svg+xml"})


def _check(actor: User | None) -> None:
    if actor is not None and not user_can(actor, "invoicing_settings.edit"):
        raise ApplicationError(
            code=ErrorCode.PERMISSION_DENIED, message=_("Only an administrator may change the invoicing settings.")
        )


@transaction.atomic
def invoicing_settings_update(
    *,
    company: Company,
    actor: User | None,
    via: str = "",
    round_to_whole_units: bool,
    auto_approve_below: Decimal,
    second_approval_from: Decimal | None,
    footer: str = "",
    logo: UploadedFile | None = None,
    logo_clear: bool = False,
    channel_limits: dict[str, Decimal | None] | None = None,
) -> InvoicingSettings:
    """Change how the company invoices (and, given `channel_limits`, the channels' auto-approval
    amounts) in one transaction; what changed goes to the audit trail."""
    _check(actor)
    if auto_approve_below is None or auto_approve_below < 0:
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("The auto-approval amount cannot be negative."))
    if second_approval_from is not None and second_approval_from <= auto_approve_below:
        raise ApplicationError(
            code=ErrorCode.VALIDATION,
            message=_("The second approval must start above the auto-approval amount."),
            extra={"fields": {"second_approval_from": [_("Above the auto-approval amount, or empty.")]}},
        )
    if logo is not None:
        if logo.size > LOGO_MAX_BYTES:
            raise ApplicationError(code=ErrorCode.VALIDATION, message=_("The logo may be at most 1 MB."))
        if getattr(logo, "content_type", "") not in LOGO_TYPES:
            raise ApplicationError(code=ErrorCode.VALIDATION, message=_("The logo must be a PNG, JPEG or SVG image."))
    settings = invoicing_settings_for(company)
    settings = InvoicingSettings.objects.select_for_update().get(pk=settings.pk)
    before = snapshot(settings, SETTINGS_FIELDS)
    settings.round_to_whole_units = round_to_whole_units
    settings.auto_approve_below = auto_approve_below
    settings.second_approval_from = second_approval_from
    settings.footer = (footer or "").strip()[:300]
    if logo is not None:
        settings.logo.save(logo.name, logo, save=False)
    elif logo_clear:
        settings.logo = ""
    settings.save()
    audit_changed(instance=settings, before=before, actor=actor, via=via)
    if channel_limits is not None:
        channel_auto_approval_set(limits=channel_limits, actor=actor, via=via)
    return settings


@transaction.atomic
def channel_auto_approval_set(
    *, limits: dict[str, Decimal | None], actor: User | None, via: str = ""
) -> list[ChannelAutoApproval]:
    """Set (or, with None, remove) the amount below which a channel's invoices need no approval."""
    _check(actor)
    unknown = set(limits) - set(Channel.values)
    if unknown:
        raise ApplicationError(
            code=ErrorCode.VALIDATION, message=_("Unknown channel %(channel)s.") % {"channel": sorted(unknown)[0]}
        )
    existing = {row.channel: row for row in ChannelAutoApproval.objects.select_for_update().order_by("channel")}
    for channel, below in sorted(limits.items()):
        row = existing.get(channel)
        if below is not None and below < 0:
            raise ApplicationError(code=ErrorCode.VALIDATION, message=_("The auto-approval amount cannot be negative."))
        if below is None:
            if row is not None:
                audit_record(
                    instance=row,
                    action=AuditAction.CHANGE,
                    changes={"below": [str(row.below), None]},
                    actor=actor,
                    via=via,
                )
                row.delete()
        elif row is None:
            row = ChannelAutoApproval.objects.create(channel=channel, below=below)
            audit_created(instance=row, actor=actor, via=via)
        elif row.below != below:
            before = snapshot(row, ["below"])
            row.below = below
            row.save(update_fields=["below"])
            audit_changed(instance=row, before=before, actor=actor, via=via)
    return list(ChannelAutoApproval.objects.order_by("channel"))
