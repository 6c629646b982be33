"""Forms of the returns pages (authorise, receive) and of cancelling a backorder that cannot be had.

The rules (how much may come back, what a receipt must add up to, that a reason is given) are the
services'; these forms only parse numbers and put the services' refusals next to the inputs they name.
"""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from o2c.common.exceptions import ApplicationError
from o2c.common.forms import add_service_errors

from .models import QUANTITY

# The services name a line by its index in the list they were given: "lines[2]", "lines[2].quantity".
LINE_KEY = re.compile(r"lines\[(\d+)\](?:\.\w+)?")


def _quantity_field(label: str, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 6}),
        **QUANTITY,
        **kwargs,
    )


def add_line_errors(form: forms.BaseForm, exc: ValidationError | ApplicationError, names: list[str]) -> None:
    """add_service_errors, with the errors of the service's i-th line on the field names[i]."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        mapped: dict[str, list[str]] = {}
        for key, messages in exc.message_dict.items():
            match = LINE_KEY.fullmatch(key)
            if match and int(match[1]) < len(names):
                key = names[int(match[1])]
            elif key == "lines":
                key = NON_FIELD_ERRORS
            mapped.setdefault(key, []).extend(messages)
        exc = ValidationError(mapped)
    add_service_errors(form, exc)


class ReturnAuthorizeForm(forms.Form):
    """Per shipped line the quantity coming back (`quantity-<order line id>`), and why.

    `rows` are the order's shipped lines, each with `order_line` and `may` (shipped less authorised).
    """

    # Not required here: return_authorize says what is missing, in its own words.
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, rows, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            self.fields[self.field_name(row.order_line)] = _quantity_field(
                _("Return of line %(position)s") % {"position": row.order_line.position}
            )
        for row in rows:
            row.field = self[self.field_name(row.order_line)]

    @staticmethod
    def field_name(order_line) -> str:
        return f"quantity-{order_line.pk}"

    def chosen(self) -> list[tuple]:
        """(order line, quantity) of the lines given a quantity; blank and 0 mean none of that line."""
        return [
            (row.order_line, quantity)
            for row in self.rows
            if (quantity := self.cleaned_data.get(self.field_name(row.order_line))) not in (None, Decimal(0))
        ]


class ReturnReceiveForm(forms.Form):
    """Per RMA line what goes back on the shelf (`restock-<id>`) and what is scrapped (`scrap-<id>`)."""

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            # Most goods come back whole: offer all of it for the shelf.
            self.fields[f"restock-{line.pk}"] = _quantity_field(
                _("Back to stock, line %(position)s") % {"position": line.order_line.position},
                initial=line.quantity,
            )
            self.fields[f"scrap-{line.pk}"] = _quantity_field(
                _("Scrapped, line %(position)s") % {"position": line.order_line.position}, initial=Decimal(0)
            )
        for line in lines:
            line.restock_field, line.scrap_field = self[f"restock-{line.pk}"], self[f"scrap-{line.pk}"]

    def received(self) -> list[tuple]:
        """(return line, restock, scrap) for every line; a blank input is 0."""
        return [
            (
                line,
                self.cleaned_data.get(f"restock-{line.pk}") or Decimal(0),
                self.cleaned_data.get(f"scrap-{line.pk}") or Decimal(0),
            )
            for line in self.lines
        ]

    def line_field_names(self) -> list[str]:
        """The field a service error about the i-th line lands on: its restock input (the row's first)."""
        return [f"restock-{line.pk}" for line in self.lines]


class LineCancelForm(forms.Form):
    """Cancel the backordered rest of an order line: why (the customer reads it in the e-mail)."""

    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    next = forms.CharField(required=False, widget=forms.HiddenInput)
