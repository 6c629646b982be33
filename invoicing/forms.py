"""Invoicing's forms: they parse what finance types; the services decide."""

import datetime
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from o2c.common.money import Currency
from orders.models import Channel, Customer, CustomerStatus, VatCategory
from orders.selectors import company_get_current

QUANTITY_FIELD = {"max_digits": 12, "decimal_places": 3}
MONEY_FIELD = {"max_digits": 14, "decimal_places": 2}
MANUAL_LINE_ROWS = 5


def vat_categories():
    company = company_get_current()
    categories = VatCategory.objects.filter(is_active=True).order_by("country", "code")
    return categories.filter(country=company.country) if company else categories


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class LineUpdateForm(forms.Form):
    quantity = forms.DecimalField(label=_("Quantity"), **QUANTITY_FIELD)
    unit_price = forms.DecimalField(label=_("Unit price"), **MONEY_FIELD)
    discount_percent = forms.DecimalField(label=_("Discount (%)"), max_digits=5, decimal_places=2, initial=0)


class LineForm(forms.Form):
    """A line typed by finance: on a draft, or on a manual invoice."""

    description = forms.CharField(label=_("Description"), max_length=200)
    quantity = forms.DecimalField(label=_("Quantity"), **QUANTITY_FIELD)
    unit_price = forms.DecimalField(label=_("Unit price"), **MONEY_FIELD)
    vat_category = forms.ModelChoiceField(label=_("VAT category"), queryset=VatCategory.objects.none())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vat_category"].queryset = vat_categories()


class ManualLineForm(LineForm):
    """A row of the manual invoice: a row left empty is skipped."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A default category, so that a row left alone counts as unchanged (and is skipped).
        field = self.fields["vat_category"]
        field.empty_label = None
        default = field.queryset.filter(code="standard").first() or field.queryset.first()
        field.initial = default.pk if default else None


ManualLineFormSet = forms.formset_factory(ManualLineForm, extra=MANUAL_LINE_ROWS, max_num=50, min_num=0)


class ManualInvoiceForm(forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    delivery_date = forms.DateField(
        label=_("Delivery date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    buyer_reference = forms.CharField(label=_("Your reference"), max_length=100, required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.exclude(status=CustomerStatus.BLOCKED).order_by(
            "name", "number"
        )


class AllowanceChargeForm(forms.Form):
    is_charge = forms.TypedChoiceField(
        label=_("Kind"),
        choices=[("0", _("Allowance (discount)")), ("1", _("Charge (e.g. freight)"))],
        coerce=lambda value: value == "1",
    )
    reason = forms.CharField(label=_("Reason"), max_length=100)
    amount = forms.DecimalField(label=_("Amount"), **MONEY_FIELD)
    vat_category = forms.ModelChoiceField(label=_("VAT category"), queryset=VatCategory.objects.none())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vat_category"].queryset = vat_categories()


class SendForm(forms.Form):
    recipient = forms.EmailField(label=_("To"), required=False, help_text=_("Empty: the customer's invoice address."))


class CreditNoteForm(forms.Form):
    """A quantity per creditable line, or everything; and why."""

    full = forms.BooleanField(label=_("Credit in full"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, lines: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line, creditable in lines:
            self.fields[f"line_{line.pk}"] = forms.DecimalField(
                label=line.description,
                required=False,
                min_value=Decimal(0),
                max_value=creditable,
                disabled=creditable <= 0,
                **QUANTITY_FIELD,
                widget=forms.NumberInput(attrs={"step": "any", "max": creditable.normalize()}),
            )

    def line_fields(self):
        return [(line, creditable, self[f"line_{line.pk}"]) for line, creditable in self.lines]

    def chosen_lines(self) -> list:
        """(line, quantity) for each line with a quantity; None means everything creditable."""
        if self.cleaned_data.get("full"):
            return None
        return [
            (line, self.cleaned_data[f"line_{line.pk}"])
            for line, _creditable in self.lines
            if self.cleaned_data.get(f"line_{line.pk}")
        ]


class InvoiceRunForm(forms.Form):
    up_to = forms.DateField(label=_("Shipped up to"), widget=forms.DateInput(attrs={"type": "date"}))
    issue_approved = forms.BooleanField(
        label=_("Issue what needs no approval"),
        required=False,
        initial=True,
        help_text=_("Invoices below the auto-approval amount are issued at once."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["up_to"].initial = timezone.localdate

    def clean_up_to(self) -> datetime.date:
        return self.cleaned_data["up_to"]


class ExchangeRateImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"), help_text=_("One rate a line: date;currency;rate (e.g. 2026-03-02;EUR;11,2345).")
    )
    source = forms.CharField(label=_("Source"), max_length=100, required=False, initial="Riksbanken")


class ExchangeRateFilterForm(forms.Form):
    currency = forms.ChoiceField(label=_("Currency"), choices=[("", "—"), *Currency.choices], required=False)


class InvoicingSettingsForm(forms.Form):
    round_to_whole_units = forms.BooleanField(label=_("Round payable totals to whole kronor"), required=False)
    auto_approve_below = forms.DecimalField(
        label=_("Approve automatically below"),
        min_value=Decimal(0),
        help_text=_("In the base currency. 0: every invoice needs an approval."),
        **MONEY_FIELD,
    )
    second_approval_from = forms.DecimalField(
        label=_("Second approval from"),
        required=False,
        min_value=Decimal(0),
        help_text=_("In the base currency. Empty: one approval is always enough."),
        **MONEY_FIELD,
    )
    footer = forms.CharField(label=_("Invoice footer"), max_length=300, required=False)
    logo = forms.FileField(label=_("Logo"), required=False, help_text=_("PNG, JPEG or SVG, at most 1 MB."))
    logo_clear = forms.BooleanField(label=_("Remove the logo"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for value, label in Channel.choices:
            self.fields[f"channel_{value}"] = forms.DecimalField(
                label=_("Channel %(channel)s: approve automatically below") % {"channel": label},
                required=False,
                min_value=Decimal(0),
                help_text=_("Empty: the company's amount applies."),
                **MONEY_FIELD,
            )

    def channel_limits(self) -> dict:
        return {value: self.cleaned_data.get(f"channel_{value}") for value in Channel.values}
