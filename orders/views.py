from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from o2c.common.audit import audit_trail_for
from o2c.common.editing import ServiceFormView
from o2c.common.exceptions import ApplicationError
from o2c.common.forms import add_service_errors
from o2c.common.roles import user_can
from o2c.common.views import CapabilityRequiredMixin, FilteredListView

from . import services
from .filters import CustomerFilter, ProductFilter
from .forms import CompanyForm, CustomerForm, ProductForm, ReasonForm, VatRateForm
from .models import Customer, Product
from .selectors import company_get_current, customer_list, product_list, vat_category_list


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
