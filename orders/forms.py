from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from o2c.common.roles import Role, user_can

from .models import Company, Customer, Product, VatCategory, VatRate
from .selectors import company_get_current


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            "number",
            "name",
            "country",
            "org_number",
            "vat_number",
            "billing_street",
            "billing_postal_code",
            "billing_city",
            "delivery_name",
            "delivery_street",
            "delivery_postal_code",
            "delivery_city",
            "delivery_country",
            "invoice_email",
            "phone",
            "language",
            "currency",
            "peppol_endpoint",
            "sales_rep",
            "payment_terms_days",
            "early_payment_discount_percent",
            "early_payment_discount_days",
            "credit_limit",
            "reminder_fees_agreed",
        ]

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
