"""Warehouse pages for stock (levels, ledger, receiving, counting) and the timed release."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from o2c.common.editing import ServiceFormView
from o2c.common.exceptions import ApplicationError
from o2c.common.forms import add_service_errors
from o2c.common.roles import user_can
from o2c.common.views import CapabilityRequiredMixin, FilteredListView
from orders.models import Order
from orders.selectors import order_list
from orders.services import order_reschedule_release

from . import services
from .forms_stock import (
    ReleaseDelayForm,
    ReleaseFilter,
    ReleaseRescheduleForm,
    StockCountForm,
    StockFilter,
    StockReceiveForm,
    StockReceiveProductForm,
)
from .models import StockItem
from .selectors.stock import (
    release_delay_default_minutes,
    release_delay_list,
    release_waiting_list,
    stock_item_allocations,
    stock_item_get,
    stock_item_list,
    stock_move_list,
)
from .services import config as services_config

LEDGER_PAGE_SIZE = 50


def _when(value) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


# Stock -------------------------------------------------------------------------------------------


class StockListView(FilteredListView):
    capability = "stock.view"
    template_name = "fulfilment/stock_list.html"
    filterset_class = StockFilter
    title = gettext_lazy("Stock")
    sort_fields = {
        "sku": "product__sku",
        "bin": "bin_location",
        "on_hand": "on_hand",
        "reserved": "reserved",
        "available": "available_quantity",
        "backordered": "backordered_quantity",
    }
    default_sort = "sku"
    columns = [
        ("sku", gettext_lazy("SKU")),
        ("", gettext_lazy("Name")),
        ("bin", gettext_lazy("Bin")),
        ("on_hand", gettext_lazy("On hand")),
        ("reserved", gettext_lazy("Reserved")),
        ("available", gettext_lazy("Available")),
        ("backordered", gettext_lazy("Backordered")),
    ]
    create_url_name = "fulfilment:stock_receive"
    create_capability = "stock.edit"

    def queryset(self):
        return stock_item_list()


class StockReceiveView(ServiceFormView):
    """Goods in for any product, by SKU: the first delivery of a product has no stock row yet."""

    capability = "stock.edit"
    form_class = StockReceiveProductForm
    title = gettext_lazy("Receive goods")

    def perform(self, form):
        return services.stock_receive(
            product=form.cleaned_data["sku"],
            quantity=form.cleaned_data["quantity"],
            reference=form.cleaned_data["reference"],
            actor=self.request.user,
        )

    def success_url(self, record):
        messages.success(self.request, _("Goods received."))
        return reverse("fulfilment:stock_detail", args=[record.pk])


class StockDetailView(CapabilityRequiredMixin, View):
    """A stock item: its balances, the orders that hold it, its ledger, and (stock.edit) the forms."""

    capability = "stock.view"
    template_name = "fulfilment/stock_detail.html"

    def get_item(self) -> StockItem:
        try:
            return stock_item_get(pk=self.kwargs["pk"])
        except StockItem.DoesNotExist:
            raise Http404 from None

    def render_page(self, item: StockItem, status: int = 200, **forms):
        can_edit = user_can(self.request.user, "stock.edit")
        context = {
            "title": str(item.product),
            "item": item,
            "allocations": stock_item_allocations(stock_item=item),
            "page_obj": Paginator(stock_move_list(stock_item=item), LEDGER_PAGE_SIZE).get_page(
                self.request.GET.get("page")
            ),
            "can_edit": can_edit,
            "receive_form": forms.get("receive_form") or (StockReceiveForm(prefix="receive") if can_edit else None),
            "count_form": forms.get("count_form")
            or (StockCountForm(prefix="count", initial={"bin_location": item.bin_location}) if can_edit else None),
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, pk):
        return self.render_page(self.get_item())


class StockActionView(StockDetailView):
    """POST-only: one stock service; its errors land on the form on the item's page, nothing saved."""

    capability = "stock.edit"
    form_class = None
    form_name = ""
    prefix = ""
    success_message = ""

    def get(self, request, pk):
        return redirect("fulfilment:stock_detail", pk=pk)

    def perform(self, item: StockItem, data: dict) -> None:
        raise NotImplementedError

    def post(self, request, pk):
        item = self.get_item()
        form = self.form_class(request.POST, prefix=self.prefix)
        if form.is_valid():
            try:
                self.perform(item, form.cleaned_data)
            except (ValidationError, ApplicationError) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, self.success_message)
                return redirect("fulfilment:stock_detail", pk=item.pk)
        return self.render_page(item, status=400, **{self.form_name: form})


class StockItemReceiveView(StockActionView):
    form_class = StockReceiveForm
    form_name = "receive_form"
    prefix = "receive"
    success_message = gettext_lazy("Goods received.")

    def perform(self, item, data):
        services.stock_receive(
            product=item.product,
            quantity=data["quantity"],
            reference=data["reference"],
            actor=self.request.user,
            warehouse=item.warehouse,
        )


class StockItemCountView(StockActionView):
    form_class = StockCountForm
    form_name = "count_form"
    prefix = "count"
    success_message = gettext_lazy("Count recorded.")

    def perform(self, item, data):
        services.stock_count(
            product=item.product,
            counted=data["counted"],
            reference=data["reference"],
            bin_location=data["bin_location"].strip() or None,
            actor=self.request.user,
            warehouse=item.warehouse,
        )


# The timed release -------------------------------------------------------------------------------


class ReleaseListView(FilteredListView):
    """Orders waiting for release: when each goes to picking, or what it waits for."""

    capability = "order.view"
    template_name = "fulfilment/release_list.html"
    filterset_class = ReleaseFilter
    title = gettext_lazy("Waiting for release")
    sort_fields = {
        "release": "release_at",
        "number": "number",
        "customer": "customer__name",
        "channel": "channel",
    }
    default_sort = "release"
    columns = [
        ("number", gettext_lazy("Order")),
        ("customer", gettext_lazy("Customer")),
        ("channel", gettext_lazy("Channel")),
        ("release", gettext_lazy("Goes to picking")),
    ]

    def queryset(self):
        return release_waiting_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["now"] = timezone.now()
        context["can_reschedule"] = user_can(self.request.user, "order.reschedule_release")
        if context["can_reschedule"]:
            context["columns"].append(
                {"label": _("Move the release"), "sort": "", "active": False, "descending": False}
            )
        return context


class ReleaseRescheduleView(CapabilityRequiredMixin, View):
    """Release an order now or postpone it, with a reason. GET shows the form on its own page."""

    capability = "order.reschedule_release"
    template_name = "fulfilment/release_reschedule.html"

    def get_order(self) -> Order:
        return get_object_or_404(order_list(), pk=self.kwargs["pk"])

    def next_url(self) -> str:
        target = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(target, allowed_hosts={self.request.get_host()}):
            return target
        return reverse("fulfilment:release_list")

    def render_page(self, order: Order, form, status: int = 200):
        context = {"title": str(order), "order": order, "form": form, "next": self.next_url()}
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, pk):
        return self.render_page(self.get_order(), ReleaseRescheduleForm(initial={"action": "postpone"}))

    def post(self, request, pk):
        order = self.get_order()
        form = ReleaseRescheduleForm(request.POST)
        if form.is_valid():
            try:
                order = order_reschedule_release(
                    order=order,
                    release_at=form.new_release_at(),
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    via="web",
                )
            except (ValidationError, ApplicationError) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, self.success_message(order, form.cleaned_data["action"]))
                return redirect(self.next_url())
        return self.render_page(order, form, status=400)

    @staticmethod
    def success_message(order: Order, action: str) -> str:
        if order.release_at is None:
            return _("Order %(number)s still waits for stock; it goes to picking when stock arrives.") % {
                "number": order.number
            }
        if action == ReleaseRescheduleForm.NOW:
            return _("Order %(number)s goes to picking at the next release run.") % {"number": order.number}
        return _("Order %(number)s is postponed to %(time)s.") % {
            "number": order.number,
            "time": _when(order.release_at),
        }


class ReleaseDelayView(CapabilityRequiredMixin, View):
    """How long each channel's orders wait before picking; managers change it."""

    capability = "order.view"
    template_name = "fulfilment/release_delays.html"

    def render_page(self, bound: ReleaseDelayForm | None = None, status: int = 200):
        can_edit = user_can(self.request.user, "order.reschedule_release")
        rows = release_delay_list()
        for row in rows:
            if bound is not None and bound.data.get("channel") == row["channel"]:
                row["form"] = bound
            elif can_edit:
                row["form"] = ReleaseDelayForm(initial={"channel": row["channel"], "minutes": row["minutes"]})
        context = {
            "title": _("Release delays"),
            "rows": rows,
            "can_edit": can_edit,
            "default_minutes": release_delay_default_minutes(),
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request):
        return self.render_page()

    def post(self, request):
        if not user_can(request.user, "order.reschedule_release"):
            raise PermissionDenied
        form = ReleaseDelayForm(request.POST)
        if form.is_valid():
            try:
                services_config.release_delay_set(
                    channel=form.cleaned_data["channel"],
                    minutes=form.cleaned_data["minutes"],
                    actor=request.user,
                    via="web",
                )
            except (ValidationError, ApplicationError) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Release delay saved."))
                return redirect("fulfilment:release_delays")
        return self.render_page(form, status=400)
