"""The warehouse's returns pages (RMAs: authorise, receive) and cancelling a backorder that cannot be had."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from o2c.common.exceptions import ApplicationError
from orders.models import Order, OrderLine

from .forms_returns import LineCancelForm, ReturnAuthorizeForm, ReturnReceiveForm, add_line_errors
from .models import ReturnAuthorization, ReturnStatus
from .selectors.returns import order_lines_returnable, return_get, return_list
from .services import shipping
from .views_shipping import TABS, QueueView, WarehouseMixin, _error_text

RETURNS_PER_PAGE = 25
# Pages ---------------------------------------------------------------------------------------------


class ReturnListView(WarehouseMixin, TemplateView):
    template_name = "fulfilment/return_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", "")
        if status not in ReturnStatus.values:
            status = ""
        query = self.request.GET.get("q", "").strip()
        page = Paginator(return_list(status=status, query=query), RETURNS_PER_PAGE).get_page(
            self.request.GET.get("page")
        )
        queue = QueueView()
        context.update(
            title=_("Returns"),
            tab="returns",
            tabs=[{"key": key, "label": label, "count": queue.rows(key).count()} for key, label in TABS],
            statuses=ReturnStatus.choices,
            status=status,
            q=query,
            page_obj=page,
            rows=page.object_list,
        )
        return context


class ReturnOrderLookupView(WarehouseMixin, View):
    """The returns list's "New return" box: an order number opens the RMA form of that order."""

    def get(self, request):
        code = request.GET.get("order", "").strip()
        order = Order.objects.filter(number=int(code)).only("pk").first() if code.isdigit() else None
        if order is None:
            messages.error(request, _("No order %(number)s.") % {"number": code or "—"})
            return redirect("fulfilment:return_list")
        return redirect("fulfilment:return_create", order_pk=order.pk)


class ReturnCreateView(WarehouseMixin, View):
    """Authorise a return (RMA) of an order's shipped goods: per line how many come back, and why."""

    template_name = "fulfilment/return_create.html"

    def get_order(self) -> Order:
        return get_object_or_404(Order.objects.select_related("customer"), pk=self.kwargs["order_pk"])

    def render_page(self, order: Order, form: ReturnAuthorizeForm, status: int = 200):
        context = {
            "title": _("New return for order %(number)s") % {"number": order.number},
            "order": order,
            "form": form,
            "rows": form.rows,
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, order_pk):
        order = self.get_order()
        return self.render_page(order, ReturnAuthorizeForm(rows=order_lines_returnable(order=order)))

    def post(self, request, order_pk):
        order = self.get_order()
        form = ReturnAuthorizeForm(request.POST, rows=order_lines_returnable(order=order))
        if form.is_valid():
            chosen = form.chosen()
            try:
                rma = shipping.return_authorize(
                    order=order, lines=chosen, reason=form.cleaned_data["reason"], actor=request.user, via="web"
                )
            except (ValidationError, ApplicationError) as exc:
                add_line_errors(form, exc, [form.field_name(line) for line, _quantity in chosen])
            else:
                messages.success(request, _("Return %(number)s is authorised.") % {"number": rma.number})
                return redirect("fulfilment:return_detail", pk=rma.pk)
        return self.render_page(order, form, status=400)


class ReturnDetailView(WarehouseMixin, View):
    """An RMA: its lines, and while open the receipt (per line back to stock and scrapped)."""

    template_name = "fulfilment/return_detail.html"

    def get_rma(self) -> ReturnAuthorization:
        try:
            return return_get(pk=self.kwargs["pk"])
        except ReturnAuthorization.DoesNotExist:
            raise Http404 from None

    def render_page(self, rma: ReturnAuthorization, form: ReturnReceiveForm | None, status: int = 200):
        context = {
            "title": str(rma),
            "rma": rma,
            "order": rma.order,
            "lines": form.lines if form is not None else list(rma.lines.all()),
            "form": form,
        }
        return render(self.request, self.template_name, context, status=status)

    def receive_form(self, rma: ReturnAuthorization, data=None) -> ReturnReceiveForm | None:
        if rma.status != ReturnStatus.OPEN:
            return None
        return ReturnReceiveForm(data, lines=list(rma.lines.all()))

    def get(self, request, pk):
        rma = self.get_rma()
        return self.render_page(rma, self.receive_form(rma))

    def post(self, request, pk):
        rma = self.get_rma()
        form = self.receive_form(rma, request.POST)
        if form is None:
            messages.error(request, _("Return %(number)s is already received.") % {"number": rma.number})
            return redirect("fulfilment:return_detail", pk=rma.pk)
        if form.is_valid():
            try:
                shipping.return_receive(rma=rma, lines=form.received(), actor=request.user, via="web")
            except (ValidationError, ApplicationError) as exc:
                add_line_errors(form, exc, form.line_field_names())
            else:
                messages.success(
                    request,
                    _("Return %(number)s is received and ready for a credit note.") % {"number": rma.number},
                )
                return redirect("fulfilment:return_detail", pk=rma.pk)
        return self.render_page(rma, form, status=400)


class LineCancelView(WarehouseMixin, View):
    """POST only: cancel the backordered rest of an order line that cannot be had (the customer is mailed).

    The form sits on the order page; the result or the refusal comes back there as a message.
    """

    http_method_names = ["post"]

    def next_url(self, order_line: OrderLine, target: str) -> str:
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={self.request.get_host()}):
            return target
        return reverse("orders:order_detail", args=[order_line.order_id])

    def post(self, request, pk):
        order_line = get_object_or_404(OrderLine.objects.select_related("order__customer", "product"), pk=pk)
        form = LineCancelForm(request.POST)
        form.is_valid()  # both fields are optional strings: always valid
        try:
            cancellation = shipping.order_line_cancel_unavailable(
                order_line=order_line, reason=form.cleaned_data["reason"], actor=request.user, via="web"
            )
        except (ValidationError, ApplicationError) as exc:
            messages.error(
                request,
                _("Line %(position)s is not cancelled: %(error)s")
                % {"position": order_line.position, "error": _error_text(exc)},
            )
            return redirect(self.next_url(order_line, form.cleaned_data["next"]))
        order = Order.objects.select_related("customer").get(pk=order_line.order_id)
        text = _("Cancelled %(quantity)s of line %(position)s (%(sku)s); order %(number)s is now %(status)s.") % {
            "quantity": f"{cancellation.quantity.normalize():f}",
            "position": order_line.position,
            "sku": order_line.product.sku,
            "number": order.number,
            "status": order.get_status_display().lower(),
        }
        if order.customer.invoice_email:
            text = f"{text} " + _("The customer is told by e-mail at %(email)s.") % {
                "email": order.customer.invoice_email
            }
        messages.success(request, text)
        return redirect(self.next_url(order_line, form.cleaned_data["next"]))
