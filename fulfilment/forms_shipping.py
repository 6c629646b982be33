"""Forms of the warehouse pages: picking (with a scanner), packing and shipping."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CARRIERS = ["PostNord", "DHL", "DB Schenker", "Bring", "UPS", "Budbee"]


class ShipForm(forms.Form):
    carrier = forms.CharField(
        label=_("Carrier"), max_length=60, widget=forms.TextInput(attrs={"list": "carriers", "autocomplete": "off"})
    )
    tracking_number = forms.CharField(
        label=_("Tracking number"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    ship_date = forms.DateField(label=_("Ship date"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ship_date"].initial = timezone.localdate()


def decimal_or_none(value) -> Decimal | None:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def picked_from(data, line_ids) -> tuple[dict[int, Decimal], dict[int, str]]:
    """The picked quantity of each line from the pick form (`picked-<line id>`), and the lines' errors."""
    picked, errors = {}, {}
    for line_id in line_ids:
        raw = data.get(f"picked-{line_id}", "0") or "0"
        number = decimal_or_none(raw)
        if number is None:
            errors[line_id] = str(_("Enter a number."))
        else:
            picked[line_id] = number
    return picked, errors


def weights_from(data) -> tuple[list[str], list[Decimal | None]]:
    """The package weights as typed (to show them again) and as numbers (None where not a number)."""
    raw = [value.strip() for value in data.getlist("weight")]
    return raw, [decimal_or_none(value) for value in raw]
