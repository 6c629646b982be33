import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from o2c.common.audit import audit_trail_for
from o2c.common.editing import ServiceFormView
from o2c.common.exceptions import ApplicationError
from o2c.common.forms import add_service_errors
from o2c.common.money import DocumentTotals
from o2c.common.roles import user_can
from o2c.common.views import CapabilityRequiredMixin, FilteredListView
from o2c.outbox.selectors import events_for

from . import services
from .filters import CustomerFilter, OrderFilter, ProductFilter
from .forms import (
    CompanyForm,
    CustomerForm,
    OrderCancelForm,
    OrderEntryForm,
    OrderHoldForm,
    OrderHoldSatisfyForm,
    ProductForm,
    ReasonForm,
    VatRateForm,
    order_entry_lines,
)
from .models import Customer, Order, OrderHold, OrderStatus, Product, VatCategory
from .selectors import (
    company_get_current,
    customer_list,
    order_get,
    order_list,
    order_vat_breakdown,
    product_list,
    vat_category_list,
)


def _form_data(form) -> dict:
    return {name: form.cleaned_data[name] for name in form.fields if name in form.cleaned_data}


# Customers ---------------------------------------------------------------------------------------


class CustomerListView(FilteredListView):
    capability = "customer.view"
    template_name = "orders/customer_list.html"
    filterset_class = CustomerFilter
    title = _("Customers")
    sort_fields = {
        "number": "number",
        "name": "name",
        "city": "billing_city",
        "credit_limit": "credit_limit",
        "status": "status",
        "created": "created_at",
    }
    default_sort = "number"
    columns = [
        ("number", _("Number")),
        ("name", _("Name")),
        ("city", _("City")),
        ("", _("Country")),
        ("", _("Sales rep")),
        ("credit_limit", _("Credit limit")),
        ("status", _("Status")),
    ]
    create_url_name = "orders:customer_create"
    create_capability = "customer.edit"

    def queryset(self):
        return customer_list()


class CustomerDetailView(CapabilityRequiredMixin, TemplateView):
    capability = "customer.view"
    template_name = "orders/customer_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = get_object_or_404(customer_list(), pk=kwargs["pk"])
        context.update(customer=customer, audit_entries=audit_trail_for(customer), reason_form=ReasonForm())
        return context


class CustomerCreateView(ServiceFormView):
    capability = "customer.edit"
    form_class = CustomerForm
    title = _("New customer")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def perform(self, form):
        return services.customer_create(actor=self.request.user, via="web", **_form_data(form))


class CustomerEditView(CustomerCreateView):
    title = _("Edit customer")

    def get_object(self):
        return get_object_or_404(Customer, pk=self.kwargs["pk"])

    def perform(self, form):
        return services.customer_update(customer=self.object, actor=self.request.user, via="web", **_form_data(form))


class CustomerStatusView(CapabilityRequiredMixin, View):
    """POST-only: block or unblock, with a reason."""

    capability = "customer.edit_credit"
    action = ""

    def post(self, request, pk):
        customer = get_object_or_404(Customer, pk=pk)
        form = ReasonForm(request.POST)
        form.is_valid()
        service = services.customer_block if self.action == "block" else services.customer_unblock
        try:
            service(customer=customer, reason=form.cleaned_data.get("reason", ""), actor=request.user, via="web")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Customer blocked.") if self.action == "block" else _("Customer unblocked."))
        return redirect(customer.get_absolute_url())


# Products ----------------------------------------------------------------------------------------


class ProductListView(FilteredListView):
    capability = "product.view"
    template_name = "orders/product_list.html"
    filterset_class = ProductFilter
    title = _("Products")
    sort_fields = {"sku": "sku", "name": "name", "price": "unit_price", "cost": "cost_price", "kind": "kind"}
    default_sort = "sku"
    columns = [
        ("sku", _("SKU")),
        ("name", _("Name")),
        ("price", _("Unit price")),
        ("", _("VAT")),
        ("cost", _("Cost price")),
        ("kind", _("Kind")),
        ("", _("Active")),
    ]
    create_url_name = "orders:product_create"
    create_capability = "product.edit"

    def queryset(self):
        return product_list()


class ProductDetailView(CapabilityRequiredMixin, TemplateView):
    capability = "product.view"
    template_name = "orders/product_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        product = get_object_or_404(product_list(), pk=kwargs["pk"])
        context.update(product=product, audit_entries=audit_trail_for(product))
        return context


class ProductCreateView(ServiceFormView):
    capability = "product.edit"
    form_class = ProductForm
    title = _("New product")

    def perform(self, form):
        return services.product_create(actor=self.request.user, via="web", **_form_data(form))


class ProductEditView(ProductCreateView):
    title = _("Edit product")

    def get_object(self):
        return get_object_or_404(Product, pk=self.kwargs["pk"])

    def perform(self, form):
        return services.product_update(product=self.object, actor=self.request.user, via="web", **_form_data(form))


# Company and VAT ---------------------------------------------------------------------------------


class CompanyDetailView(CapabilityRequiredMixin, TemplateView):
    capability = "company.view"
    template_name = "orders/company_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        company = company_get_current()
        context.update(
            company=company,
            audit_entries=audit_trail_for(company) if company else [],
            bank_accounts=company.bank_accounts.all() if company else [],
            number_series=company.number_series.all() if company else [],
        )
        return context


class CompanyEditView(ServiceFormView):
    capability = "company.edit"
    form_class = CompanyForm
    title = _("Company")

    def get_object(self):
        return company_get_current()

    def success_url(self, record):
        return reverse("orders:company_detail")

    def perform(self, form):
        if self.object is None:
            return services.company_create(actor=self.request.user, via="web", **_form_data(form))
        return services.company_update(company=self.object, actor=self.request.user, via="web", **_form_data(form))


class VatListView(CapabilityRequiredMixin, View):
    capability = "vat.view"
    template_name = "orders/vat_list.html"

    def render_page(self, form, status=200):
        company = company_get_current()
        categories = vat_category_list(country=company.country if company else None)
        return render(self.request, self.template_name, {"categories": categories, "form": form}, status=status)

    def get(self, request):
        return self.render_page(VatRateForm() if user_can(request.user, "vat.edit") else None)

    def post(self, request):
        if not user_can(request.user, "vat.edit"):
            raise PermissionDenied
        form = VatRateForm(request.POST)
        if form.is_valid():
            data = _form_data(form)
            try:
                services.vat_rate_add(category=data.pop("category"), actor=request.user, via="web", **data)
            except (ValidationError, ApplicationError) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("VAT rate added."))
                return redirect("orders:vat_list")
        return self.render_page(form, status=400)


# Orders ------------------------------------------------------------------------------------------

ENTRY_SEARCH_LIMIT = 15
LINE_ERROR_PATH = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


class OrderListView(FilteredListView):
    capability = "order.view"
    template_name = "orders/order_list.html"
    filterset_class = OrderFilter
    title = _("Orders")
    sort_fields = {
        "number": "number",
        "date": "order_date",
        "customer": "customer__name",
        "total": "gross_amount",
        "status": "status",
    }
    default_sort = "-number"
    columns = [
        ("number", _("Number")),
        ("date", _("Date")),
        ("customer", _("Customer")),
        ("", _("Channel")),
        ("", _("Sales rep")),
        ("total", _("Total")),
        ("status", _("Status")),
    ]
    create_url_name = "orders:order_create"
    create_capability = "order.create"

    def queryset(self):
        return order_list()


# Order entry: the page, its searches and the live lines table -----------------------------------


@dataclass
class EntryLine:
    """One row of the entry form as typed, with what the server makes of it."""

    index: int
    sku: str
    quantity: str
    discount_percent: str
    unit_price: str
    product: Product | None = None
    price: Decimal | None = None
    vat_category: VatCategory | None = None
    vat_rate: Decimal | None = None
    net_amount: Decimal | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"lines[{self.index}]"


def _order_preview(
    *, customer: Customer | None, rows: list[dict[str, str]], user
) -> tuple[list[EntryLine], DocumentTotals, str]:
    """Price the lines being entered with order_quote, the path order_create saves; nothing is saved."""
    quote = services.order_quote(
        customer=customer,
        actor=user,
        lines=[
            services.LineInput(
                sku=row["sku"],
                quantity=row["quantity"],
                discount_percent=row["discount_percent"] or "0",
                unit_price=row["unit_price"] or None,
            )
            for row in rows
        ],
    )
    lines = [EntryLine(index=index, **row) for index, row in enumerate(rows)]
    for priced, index in zip(quote.lines, quote.line_indexes, strict=True):
        line = lines[index]
        line.product, line.price, line.vat_category = priced.product, priced.unit_price, priced.vat_category
        line.vat_rate, line.net_amount = priced.vat_rate, priced.net_amount
    for path, problems in quote.errors.items():
        if path.startswith("lines[") and "]." in path:
            index, name = path[len("lines[") :].split("].", 1)
            lines[int(index)].errors[name] = problems
    products = {p.sku: p for p in product_list().filter(sku__in={row["sku"] for row in rows})}
    for line in lines:
        line.product = line.product or products.get(line.sku)
    return lines, quote.totals, quote.currency


def _entry_customer(value: str) -> Customer | None:
    """The customer chosen on the entry form (its pk), or None."""
    if not value or not value.isdigit():
        return None
    return customer_list().filter(pk=int(value)).first()


class OrderEntryMixin(CapabilityRequiredMixin):
    capability = "order.create"

    def may_set_price(self) -> bool:
        return user_can(self.request.user, "order.override_price")

    def lines_context(self, data, *, add: str = "", remove: str = "") -> dict:
        rows = order_entry_lines(data, may_set_price=self.may_set_price())
        lines_errors = []
        if remove.isdigit() and int(remove) < len(rows):
            del rows[int(remove)]
        if add:
            if len(rows) >= services.MAX_LINES:
                lines_errors.append(_("An order has at most %(max)d lines.") % {"max": services.MAX_LINES})
            else:
                product = product_list().filter(sku=add, is_active=True).first()
                price = str(product.unit_price) if product is not None and self.may_set_price() else ""
                rows.append({"sku": add, "quantity": "1", "discount_percent": "0", "unit_price": price})
        customer = _entry_customer(data.get("customer", ""))
        lines, totals, currency = _order_preview(customer=customer, rows=rows, user=self.request.user)
        return {
            "lines": lines,
            "totals": totals,
            "currency": currency,
            "lines_errors": lines_errors,
            "may_set_price": self.may_set_price(),
        }


class OrderCreateView(OrderEntryMixin, View):
    """Fast order entry. The lines table re-renders from the server (OrderEntryLinesView) as lines
    change; submitting hands everything to order_create, whose errors land on their lines."""

    template_name = "orders/order_create.html"

    def render_page(self, form, lines_context: dict, status: int = 200):
        customer = _entry_customer(form["customer"].value() or "") if form.is_bound else None
        context = {
            "title": _("New order"),
            "form": form,
            "chosen_customer": customer,
            **lines_context,
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request):
        form = OrderEntryForm()
        return self.render_page(form, self.lines_context(QueryDict()))

    def post(self, request):
        form = OrderEntryForm(request.POST)
        context = self.lines_context(request.POST)
        if form.is_valid():
            try:
                order = services.order_create(
                    customer=form.cleaned_data["customer"],
                    lines=[
                        services.LineInput(
                            sku=line.sku,
                            quantity=line.quantity,
                            discount_percent=line.discount_percent or "0",
                            unit_price=line.unit_price or None,
                        )
                        for line in context["lines"]
                    ],
                    actor=request.user,
                    via="web",
                    customer_reference=form.cleaned_data["customer_reference"],
                    requested_delivery_date=form.cleaned_data["requested_delivery_date"],
                    note=form.cleaned_data["note"],
                    submit=request.POST.get("action") != "draft",
                )
            except ValidationError as exc:
                self.place_errors(form, context, exc)
            except ApplicationError as exc:
                add_service_errors(form, exc)
            else:
                if order.status == OrderStatus.DRAFT:
                    messages.success(request, _("Order %(number)s saved as a draft.") % {"number": order.number})
                else:
                    messages.success(request, _("Order %(number)s submitted.") % {"number": order.number})
                return redirect(order.get_absolute_url())
        return self.render_page(form, context, status=400)

    @staticmethod
    def place_errors(form, context: dict, exc: ValidationError) -> None:
        """Put each error where the service points: `lines[1].quantity` on line 2's quantity."""
        if not hasattr(exc, "error_dict"):
            form.add_error(None, exc.messages)
            return
        rest = {}
        for path, errors in exc.message_dict.items():
            match = LINE_ERROR_PATH.match(path)
            if match and int(match[1]) < len(context["lines"]):
                line = context["lines"][int(match[1])]
                line.errors[match[2]] = errors
            elif path == "lines":
                context["lines_errors"].extend(errors)
            else:
                rest[path] = errors
        if rest:
            add_service_errors(form, ValidationError(rest))


class OrderEntryLinesView(OrderEntryMixin, View):
    """POST the entry form (plus `add` = a SKU or `remove` = a line index): the lines table with
    each line's net, the VAT breakdown and the totals, computed on the server."""

    def post(self, request):
        context = self.lines_context(
            request.POST, add=request.POST.get("add", "").strip(), remove=request.POST.get("remove", "").strip()
        )
        return render(request, "orders/_order_lines.html", context)


class OrderEntryCustomerSearchView(OrderEntryMixin, View):
    def get(self, request):
        query = request.GET.get("customer_q", "").strip()
        customers = customer_list(search=query).order_by("name", "number")[:ENTRY_SEARCH_LIMIT] if query else []
        return render(request, "orders/_order_customer_results.html", {"customers": customers, "query": query})


class OrderEntryCustomerChooseView(OrderEntryMixin, View):
    """The chosen customer's box (with the form's hidden `customer` input). A blocked customer
    cannot be chosen."""

    def get(self, request, pk):
        customer = get_object_or_404(customer_list(), pk=pk)
        response = render(
            request, "orders/_order_customer_chosen.html", {"chosen_customer": customer, "clear_results": True}
        )
        # The lines table re-prices in the customer's currency and VAT.
        response["HX-Trigger"] = "customerChosen"
        return response


class OrderEntryProductSearchView(OrderEntryMixin, View):
    def get(self, request):
        query = request.GET.get("product_q", "").strip()
        products = product_list(search=query).filter(is_active=True)[:ENTRY_SEARCH_LIMIT] if query else []
        # available_stock: the fulfilment stage fills it per product (None shows "—" until then).
        rows = [{"product": product, "available_stock": None} for product in products]
        return render(request, "orders/_order_product_results.html", {"rows": rows, "query": query})


# The order page and what can be done on it ------------------------------------------------------


EVENT_LABELS = {
    "order.created": _("Order entered"),
    "order.hold_added": _("Hold added"),
    "order.hold_satisfied": _("Condition met"),
}


def _timeline(order: Order) -> list[dict]:
    rows = []
    for event in events_for(aggregate_type="order", aggregate_id=order.pk):
        status = event.event_type.removeprefix("order.")
        label = EVENT_LABELS.get(event.event_type)
        if label is None:
            label = OrderStatus(status).label if status in OrderStatus.values else event.event_type
        payload = event.payload or {}
        hold = payload.get("hold") or {}
        rows.append(
            {
                "at": event.occurred_at,
                "type": event.event_type,
                "label": label,
                "actor": event.actor,
                "note": payload.get("note") or hold.get("reason") or hold.get("note") or "",
            }
        )
    return rows


class OrderDetailView(CapabilityRequiredMixin, View):
    capability = "order.view"
    template_name = "orders/order_detail.html"

    def order_pk(self) -> int:
        return self.kwargs["pk"]

    def get_order(self) -> Order:
        try:
            return order_get(pk=self.order_pk())
        except Order.DoesNotExist:
            raise Http404 from None

    def render_page(self, order: Order, status: int = 200, **forms):
        holds = list(order.holds.all())
        context = {
            "title": str(order),
            "order": order,
            "lines": order.lines.all(),
            "vat_breakdown": order_vat_breakdown(order=order),
            "open_holds": [hold for hold in holds if hold.is_open],
            "met_holds": [hold for hold in holds if not hold.is_open],
            "timeline": _timeline(order),
            "audit_entries": audit_trail_for(order),
            "cancel_form": forms.get("cancel_form") or OrderCancelForm(prefix="cancel"),
            "hold_form": forms.get("hold_form") or OrderHoldForm(prefix="hold"),
            "satisfy_forms": {forms["hold"].pk: forms["satisfy_form"]} if "satisfy_form" in forms else {},
            "credit_hold": OrderStatus.CREDIT_HOLD,
            "holdable": order.status in services.HOLDABLE,
        }
        for hold in context["open_holds"]:
            hold.satisfy_form = context["satisfy_forms"].get(hold.pk) or OrderHoldSatisfyForm(prefix=f"hold{hold.pk}")
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, pk):
        return self.render_page(self.get_order())


class OrderActionView(OrderDetailView):
    """POST-only: one service on the order; its errors land on the form on the order page."""

    form_class = None
    form_name = ""
    prefix = None
    success_message = ""

    def get(self, request, *args, **kwargs):
        return redirect(self.get_order().get_absolute_url())

    def perform(self, order: Order, form) -> None:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        order = self.get_order()
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                self.perform(order, form)
            except (ValidationError, ApplicationError) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, self.success_message)
                return redirect(order.get_absolute_url())
        return self.render_page(order, status=400, **{self.form_name: form, **self.extra_forms()})

    def make_form(self, data):
        return self.form_class(data, prefix=self.prefix)

    def extra_forms(self) -> dict:
        return {}


class OrderCancelView(OrderActionView):
    capability = "order.cancel"
    form_class = OrderCancelForm
    form_name = "cancel_form"
    prefix = "cancel"
    success_message = _("Order cancelled.")

    def perform(self, order, form):
        services.order_cancel(order=order, reason=form.cleaned_data["reason"], actor=self.request.user, via="web")


class OrderHoldAddView(OrderActionView):
    capability = "order.hold"
    form_class = OrderHoldForm
    form_name = "hold_form"
    prefix = "hold"
    success_message = _("Hold added.")

    def perform(self, order, form):
        services.order_hold_add(order=order, reason=form.cleaned_data["reason"], actor=self.request.user, via="web")


class OrderHoldSatisfyView(OrderActionView):
    capability = "order.hold"
    form_class = OrderHoldSatisfyForm
    form_name = "satisfy_form"
    success_message = _("Condition marked as met.")

    def order_pk(self) -> int:
        self.hold = get_object_or_404(OrderHold, pk=self.kwargs["pk"])
        return self.hold.order_id

    def make_form(self, data):
        return self.form_class(data, prefix=f"hold{self.hold.pk}")

    def extra_forms(self):
        return {"hold": self.hold}

    def perform(self, order, form):
        services.order_hold_satisfy(hold=self.hold, note=form.cleaned_data["note"], actor=self.request.user, via="web")
