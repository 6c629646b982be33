import django_filters
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from .models import Customer, Order, OrderStatus, Product, VatCategory
from .selectors import customer_list, order_list, product_list


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


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices, label=_("Status"))
    customer = django_filters.CharFilter(field_name="customer__number", label=_("Customer number"))
    sales_rep = django_filters.CharFilter(field_name="sales_rep__username", label=_("Sales rep"))
    order_date_from = django_filters.DateFilter(field_name="order_date", lookup_expr="gte", label=_("From"))
    order_date_to = django_filters.DateFilter(field_name="order_date", lookup_expr="lte", label=_("To"))

    class Meta:
        model = Order
        fields = [
            "q",
            "status",
            "customer",
            "channel",
            "sales_rep",
            "external_reference",
            "order_date_from",
            "order_date_to",
        ]

    def search(self, queryset, name, value):
        return queryset & order_list(search=value)
