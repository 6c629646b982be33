from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from o2c.common.roles import Role, user_can

from .models import Company, Customer, Product, VatCategory, VatRate
from .selectors import company_get_current


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = Customer.EDITABLE_FIELDS

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["number"].required = False
        self.fields["number"].help_text = _("Leave empty for the next free number.")
        self.fields["sales_rep"].queryset = (
            User.objects.filter(is_active=True, groups__name__in=[Role.SALES, Role.MANAGER])
            .distinct()
            .order_by("username")
        )
        if not user_can(user, "customer.edit_credit"):
            for name in Customer.CREDIT_FIELDS:
                del self.fields[name]


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "description",
            "unit",
            "unit_price",
            "currency",
            "vat_category",
            "cost_price",
            "kind",
            "requires_installation",
            "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        company = company_get_current()
        categories = VatCategory.objects.filter(is_active=True)
        if company:
            categories = categories.filter(country=company.country)
            self.fields["currency"].initial = company.base_currency
        self.fields["vat_category"].queryset = categories


class CompanyForm(forms.ModelForm):
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")

    class Meta:
        model = Company
        fields = [
            "legal_name",
            "org_number",
            "vat_number",
            "street",
            "postal_code",
            "city",
            "country",
            "base_currency",
            "f_skatt",
            "email",
            "phone",
            "website",
            "peppol_participant_id",
            "payment_reference_scheme",
            "invoice_series",
            "credit_note_series",
        ]


class VatRateForm(forms.ModelForm):
    class Meta:
        model = VatRate
        fields = ["category", "rate", "valid_from", "valid_to"]
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_to": forms.DateInput(attrs={"type": "date"}),
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


# Orders ------------------------------------------------------------------------------------------


class OrderEntryForm(forms.Form):
    """The order's head. Its lines come as parallel lists (see `order_entry_lines`), one row per line."""

    customer = forms.ModelChoiceField(
        queryset=Customer.objects.all(),
        widget=forms.HiddenInput,
        label=_("Customer"),
        error_messages={"required": _("Choose a customer."), "invalid_choice": _("Choose a customer.")},
    )
    requested_delivery_date = forms.DateField(
        label=_("Requested delivery date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    customer_reference = forms.CharField(label=_("Customer's reference"), max_length=100, required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


# The line inputs of the entry form, in the order the service's LineInput names them.
LINE_FIELDS = ("sku", "quantity", "discount_percent", "unit_price")


def order_entry_lines(data, *, may_set_price: bool) -> list[dict[str, str]]:
    """The lines as typed: one dict of raw strings per row; a price only from users who may set one.

    Each row of the entry form sends one value of every field, so the n-th values belong together.
    """
    columns = {name: data.getlist(name) for name in LINE_FIELDS}
    rows = []
    for index, sku in enumerate(columns["sku"]):
        row = {name: (values[index] if index < len(values) else "").strip() for name, values in columns.items()}
        for name in ("quantity", "discount_percent", "unit_price"):
            row[name] = row[name].replace(" ", "").replace("\u00a0", "").replace(",", ".")  # 1 234,5 as typed in sv/nb
        row["sku"] = sku.strip()
        if not may_set_price:
            row["unit_price"] = ""
        rows.append(row)
    return rows


class OrderCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class OrderHoldForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class OrderHoldSatisfyForm(forms.Form):
    note = forms.CharField(label=_("How was it met?"), max_length=200)
