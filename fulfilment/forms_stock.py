"""Forms and list filters of the stock and release pages."""

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import Channel, Order, Product

from .models import QUANTITY, StockItem
from .selectors.stock import release_search, stock_item_search

# Filters -----------------------------------------------------------------------------------------


class StockFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("SKU or name"))
    bin = django_filters.CharFilter(field_name="bin_location", lookup_expr="istartswith", label=_("Bin"))
    nothing_available = django_filters.BooleanFilter(method="filter_nothing_available", label=_("Nothing available"))
    has_backorders = django_filters.BooleanFilter(method="filter_has_backorders", label=_("Backordered"))

    class Meta:
        model = StockItem
        fields = ["q", "bin", "nothing_available", "has_backorders"]

    def search(self, queryset, name, value):
        return queryset.filter(stock_item_search(value))

    def filter_nothing_available(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(available_quantity__lte=0) if value else queryset.filter(available_quantity__gt=0)

    def filter_has_backorders(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(backordered_quantity__gt=0) if value else queryset.filter(backordered_quantity=0)


WAITING_STATES = [
    ("scheduled", _("Scheduled")),
    ("stock", _("Waiting for stock")),
    ("held", _("Held")),
]


class ReleaseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Order or customer"))
    channel = django_filters.ChoiceFilter(choices=Channel.choices, label=_("Channel"))
    waiting = django_filters.ChoiceFilter(choices=WAITING_STATES, method="filter_waiting", label=_("Waiting"))

    class Meta:
        model = Order
        fields = ["q", "channel", "waiting"]

    def search(self, queryset, name, value):
        return queryset.filter(release_search(value))

    def filter_waiting(self, queryset, name, value):
        if value == "held":
            return queryset.filter(has_open_hold=True)
        if value == "stock":
            return queryset.filter(release_at__isnull=True, has_open_hold=False)
        if value == "scheduled":
            return queryset.filter(release_at__isnull=False, has_open_hold=False)
        return queryset


# Stock forms -------------------------------------------------------------------------------------


def _quantity_field(label, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, max_digits=QUANTITY["max_digits"], decimal_places=QUANTITY["decimal_places"], **kwargs
    )


class StockReceiveForm(forms.Form):
    quantity = _quantity_field(_("Quantity received"))
    reference = forms.CharField(
        label=_("Reference"), max_length=100, required=False, help_text=_("Delivery note or purchase order.")
    )


class StockReceiveProductForm(StockReceiveForm):
    """Receiving from the stock list: the product is typed in by SKU (it may have no stock yet)."""

    field_order = ["sku", "quantity", "reference"]

    sku = forms.CharField(label=_("SKU"), max_length=40)

    def clean_sku(self) -> Product:
        sku = self.cleaned_data["sku"].strip()
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise forms.ValidationError(_("No product with SKU %(sku)r.") % {"sku": sku})
        return product


class StockCountForm(forms.Form):
    counted = _quantity_field(_("Counted quantity"))
    bin_location = forms.CharField(
        label=_("Bin"), max_length=20, required=False, help_text=_("Leave empty to keep the current bin.")
    )
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)


# Release forms -----------------------------------------------------------------------------------


class ReleaseRescheduleForm(forms.Form):
    NOW, POSTPONE = "now", "postpone"

    action = forms.ChoiceField(choices=[(NOW, _("Release now")), (POSTPONE, _("Postpone"))], widget=forms.HiddenInput)
    release_at = forms.DateTimeField(
        label=_("Postpone to"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    # Optional here: the service refuses an empty reason with its own message.
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("action") == self.POSTPONE:
            release_at = data.get("release_at")
            if release_at is None:
                self.add_error("release_at", _("Say when the order is to be released."))
            elif release_at <= timezone.now():
                self.add_error("release_at", _("Postpone to a time in the future."))
        return data

    def new_release_at(self):
        if self.cleaned_data["action"] == self.NOW:
            return timezone.now()
        return self.cleaned_data["release_at"]


class ReleaseDelayForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices, widget=forms.HiddenInput)
    minutes = forms.IntegerField(label=_("Minutes"), min_value=0)
