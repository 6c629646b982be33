import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from ..selectors import invoice_list


class InvoiceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search",
        label=_("Search"),
        help_text=_("Number, customer name or number, payment reference, or the buyer's or order's reference."),
    )
    search = django_filters.CharFilter(method="filter_search", label=_("Search"), help_text=_("The same as q."))
    customer = django_filters.CharFilter(field_name="customer__number", label=_("Customer number"))
    status = django_filters.MultipleChoiceFilter(choices=InvoiceStatus.choices, label=_("Status"))
    kind = django_filters.ChoiceFilter(choices=InvoiceKind.choices, label=_("Kind"))
    order = django_filters.NumberFilter(
        method="filter_order",
        label=_("Order number"),
        help_text=_("The order's number; a collective invoice is found by any order it bills."),
    )
    issued_from = django_filters.DateFilter(field_name="issue_date", lookup_expr="gte", label=_("Issued from"))
    issued_to = django_filters.DateFilter(field_name="issue_date", lookup_expr="lte", label=_("Issued to"))
    due_from = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", label=_("Due from"))
    due_to = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", label=_("Due to"))

    class Meta:
        model = Invoice
        fields = [
            "q",
            "search",
            "customer",
            "status",
            "kind",
            "order",
            "issued_from",
            "issued_to",
            "due_from",
            "due_to",
        ]

    def filter_search(self, queryset, name, value):
        return queryset & invoice_list(search=value)

    def filter_order(self, queryset, name, value):
        # A subquery, not a join through the lines: no duplicate rows and no DISTINCT to page over.
        billed = InvoiceLine.objects.filter(order_line__order__number=value).values("invoice_id")
        return queryset.filter(Q(order__number=value) | Q(pk__in=billed))
