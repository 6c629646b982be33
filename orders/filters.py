import django_filters
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from .models import Customer, Product, VatCategory
from .selectors import customer_list, product_list


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    sales_rep = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(customers__isnull=False).distinct().order_by("username"), label=_("Sales rep")
    )

    class Meta:
        model = Customer
        fields = ["q", "number", "country", "status", "currency", "language", "sales_rep"]

    def search(self, queryset, name, value):
        return queryset & customer_list(search=value)


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    vat_category = django_filters.ModelChoiceFilter(queryset=VatCategory.objects.all(), label=_("VAT category"))

    class Meta:
        model = Product
        fields = ["q", "sku", "kind", "vat_category", "currency", "is_active", "requires_installation"]

    def search(self, queryset, name, value):
        return queryset & product_list(search=value)
