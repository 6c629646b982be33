from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext_lazy as _
from django.views import View

from o2c.common.exceptions import ApplicationError
from o2c.common.views import CapabilityRequiredMixin
from orders.models import Order

from . import services
from .forms import CreditReleaseForm


class CreditHoldReleaseView(CapabilityRequiredMixin, View):
    """POST-only, from the order page: finance lets an order on credit hold through, with a note.

    It lives in credit because orders may not import credit (apps depend one way)."""

    capability = "credit.release"

    def get(self, request, pk):
        return redirect("orders:order_detail", pk=pk)

    def post(self, request, pk):
        order = get_object_or_404(Order, pk=pk)
        form = CreditReleaseForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors.get("note", [])))
            return redirect(order.get_absolute_url())
        try:
            services.credit_hold_release(order=order, note=form.cleaned_data["note"], actor=request.user, via="web")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Credit hold released: the order is confirmed."))
        return redirect(order.get_absolute_url())
