from decimal import Decimal

from django import template
from django.utils.formats import number_format

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


@register.filter
def change_pairs(changes: dict):
    """Audit changes as (field, old, new) rows for templates."""
    return [(field, values[0], values[1]) for field, values in (changes or {}).items()]
