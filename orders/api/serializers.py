from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from rest_framework import serializers

from ..models import Customer, Product, VatCategory
from ..selectors import company_get_current


class CustomerSerializer(serializers.ModelSerializer):
    sales_rep = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    number = serializers.CharField(
        max_length=20, required=False, allow_blank=True, help_text="Empty or left out: the next free number."
    )

    class Meta:
        model = Customer
        fields = [
            "id",
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
            "payment_terms_days",
            "early_payment_discount_percent",
            "early_payment_discount_days",
            "credit_limit",
            "peppol_endpoint",
            "reminder_fees_agreed",
            "sales_rep",
            "status",
            "blocked_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "status", "blocked_reason", "created_at", "updated_at"]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class VatCategoryField(serializers.SlugRelatedField):
    """A VAT category by its code ('standard', 'reduced_food', ...) in the company's country."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", **kwargs)

    def get_queryset(self):
        company = company_get_current()
        categories = VatCategory.objects.filter(is_active=True)
        return categories.filter(country=company.country) if company else categories

    def to_internal_value(self, data):
        try:
            return self.get_queryset().get(code=data)
        except VatCategory.DoesNotExist:
            known = ", ".join(self.get_queryset().values_list("code", flat=True))
            raise serializers.ValidationError(
                _("Unknown VAT category %(code)r; use one of: %(known)s.") % {"code": data, "known": known}
            ) from None
        except (TypeError, ValueError):
            raise serializers.ValidationError(_("Give the VAT category's code as a string.")) from None


class ProductSerializer(serializers.ModelSerializer):
    vat_category = VatCategoryField()
    vat_code = serializers.CharField(source="vat_category.uncl5305_code", read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "description",
            "unit",
            "unit_price",
            "currency",
            "vat_category",
            "vat_code",
            "cost_price",
            "kind",
            "requires_installation",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
