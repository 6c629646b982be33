import django_filters
from django.utils.translation import gettext_lazy as _

from .models import Invoice, InvoiceKind, InvoiceStatus
from .selectors import invoice_list


class InvoiceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.MultipleChoiceFilter(choices=InvoiceStatus.choices, label=_("Status"))
    kind = django_filters.ChoiceFilter(choices=InvoiceKind.choices, label=_("Kind"))
    customer = django_filters.CharFilter(field_name="customer__number", label=_("Customer number"))
    issued_from = django_filters.DateFilter(field_name="issue_date", lookup_expr="gte", label=_("Issued from"))
    issued_to = django_filters.DateFilter(field_name="issue_date", lookup_expr="lte", label=_("Issued to"))
    due_from = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", label=_("Due from"))
    due_to = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", label=_("Due to"))

    class Meta:
        model = Invoice
        fields = ["q", "status", "kind", "customer", "issued_from", "issued_to", "due_from", "due_to"]

    def search(self, queryset, name, value):
        return queryset & invoice_list(search=value)
