"""Money: the one place where amounts are rounded.

Rules (docs/architecture.md, "Money"):
- Amounts are `Decimal`, never float, and every document carries one ISO 4217 currency.
- An amount is rounded to its currency's minor unit with ROUND_HALF_UP (0.005 -> 0.01), the rule
  Swedish and Norwegian accounting practice and EN 16931 examples use.
- Documents round each line first and then sum the rounded lines, so a printed invoice adds up.
- Input with more decimals than the currency has is rejected, not silently rounded.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

ROUNDING = ROUND_HALF_UP
MONEY_MAX_DIGITS = 18
MONEY_DECIMAL_PLACES = 2


class Currency(models.TextChoices):
    SEK = "SEK", _("Swedish krona")
    NOK = "NOK", _("Norwegian krone")
    EUR = "EUR", _("Euro")
    DKK = "DKK", _("Danish krone")
    USD = "USD", _("US dollar")
    GBP = "GBP", _("Pound sterling")


# Minor units per ISO 4217. All supported currencies have two; the table is here so that adding
# one with another exponent (ISK, JPY) is a line, not a hunt.
CURRENCY_EXPONENT = {c.value: 2 for c in Currency}


def currency_exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENT[currency]
    except KeyError:
        raise ValueError(f"Unsupported currency {currency!r}") from None


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    if not isinstance(amount, Decimal):
        raise TypeError(f"Money must be Decimal, got {type(amount).__name__}")
    return amount.quantize(quantum(currency), rounding=ROUNDING)


def round_to_whole_units(amount: Decimal) -> Decimal:
    """Round a payable total to whole kronor (öresavrundning), keeping two decimals for display."""
    return amount.quantize(Decimal(1), rounding=ROUNDING).quantize(Decimal("0.01"))


def decimal_places(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def validate_money_precision(amount: Decimal, currency: str, *, field_label: str = "") -> None:
    try:
        places = decimal_places(Decimal(amount))
    except (InvalidOperation, TypeError):
        raise ValidationError(_("Enter a number."), code="invalid") from None
    allowed = currency_exponent(currency)
    if places > allowed:
        raise ValidationError(
            _("%(currency)s amounts have at most %(allowed)d decimals; %(amount)s has %(places)d.")
            % {"currency": currency, "allowed": allowed, "amount": amount, "places": places},
            code="too_many_decimals",
        )


def money_field(verbose_name, **kwargs) -> models.DecimalField:
    kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
    kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
    return models.DecimalField(verbose_name, **kwargs)


@dataclass(frozen=True)
class VatSubtotal:
    """One row of a document's VAT breakdown: all lines of one category and rate."""

    category_code: str
    rate: Decimal
    taxable_amount: Decimal
    vat_amount: Decimal


@dataclass(frozen=True)
class DocumentTotals:
    net_amount: Decimal
    vat_amount: Decimal
    gross_amount: Decimal
    vat_breakdown: tuple[VatSubtotal, ...]


def line_net_amount(*, quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, currency: str) -> Decimal:
    """quantity × price less the line discount, rounded once, to the currency's minor unit."""
    return round_money(quantity * unit_price * (Decimal(100) - discount_percent) / Decimal(100), currency)


def document_totals(*, lines: Iterable[tuple[str, Decimal, Decimal]], currency: str) -> DocumentTotals:
    """Totals of a document from its (category code, VAT rate, rounded line net) lines.

    VAT is computed once per category and rate, on the sum of that group's rounded line nets
    (EN 16931 BR-CO-17), and rounded half up; the gross is net plus VAT.
    """
    taxable: dict[tuple[str, Decimal], Decimal] = {}
    for category_code, rate, net in lines:
        key = (category_code, Decimal(rate).normalize())
        taxable[key] = taxable.get(key, Decimal(0)) + net
    breakdown = tuple(
        VatSubtotal(
            category_code=code,
            rate=rate,
            taxable_amount=round_money(amount, currency),
            vat_amount=round_money(amount * rate / Decimal(100), currency),
        )
        for (code, rate), amount in sorted(taxable.items(), key=lambda item: (-item[0][1], item[0][0]))
    )
    net = sum((row.taxable_amount for row in breakdown), Decimal(0))
    vat = sum((row.vat_amount for row in breakdown), Decimal(0))
    zero = round_money(Decimal(0), currency)
    return DocumentTotals(
        net_amount=net + zero, vat_amount=vat + zero, gross_amount=net + vat + zero, vat_breakdown=breakdown
    )
