from decimal import Decimal

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from o2c.common.money import currency_exponent
from o2c.common.roles import user_can

register = template.Library()


@register.filter
def money(amount, currency: str = ""):
    """1234.5, "SEK" -> "1 234,50 SEK" in Swedish, "1,234.50 SEK" in English."""
    if amount in (None, ""):
        return ""
    places = currency_exponent(currency) if currency else 2
    text = number_format(Decimal(amount), decimal_pos=places, use_l10n=True, force_grouping=True)
    return f"{text}\u00a0{currency}" if currency else text


@register.filter
def can(user, capability: str) -> bool:
    return user_can(user, capability)


VIA_LABELS = {
    "web": _("web"),
    "api": _("API"),
    "system": _("system"),
    "load_demo": _("demo data"),
    "credit": _("credit check"),
    "fulfilment": _("fulfilment"),
    "release-sweep": _("pick release"),
}


def _display(field, value):
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    choices = dict(field.flatchoices) if field is not None and field.choices else {}
    return choices.get(value, value)


@register.filter
def change_pairs(entry):
    """An audit entry's changes as (label, old, new) rows, with field names and choices as users see them."""
    model = entry.content_type.model_class()
    rows = []
    for name, (old, new) in (entry.changes or {}).items():
        try:
            field = model._meta.get_field(name) if model else None
        except FieldDoesNotExist:
            field = None
        if field is not None and not hasattr(field, "verbose_name"):
            field = None  # a reverse relation named like the change (an invoice's "approvals" count)
        label = capfirst(field.verbose_name) if field is not None else name
        rows.append((label, _display(field, old), _display(field, new)))
    return rows


@register.filter
def via_label(via: str) -> str:
    return VIA_LABELS.get(via, via)
