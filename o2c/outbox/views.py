import json

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from o2c.common.audit import audit_trail_for
from o2c.common.editing import ServiceFormView
from o2c.common.exceptions import ApplicationError
from o2c.common.views import CapabilityRequiredMixin, FilteredListView

from . import delivery as services
from .filters import DeliveryFilter, SubscriptionFilter
from .forms import SubscriptionForm
from .models import Delivery, DeliveryStatus, WebhookSubscription
from .selectors import delivery_get, delivery_list, subscription_list


def _form_data(form) -> dict:
    return {name: form.cleaned_data[name] for name in form.fields if name in form.cleaned_data}


class SubscriptionListView(FilteredListView):
    capability = "webhook.view"
    template_name = "outbox/subscription_list.html"
    filterset_class = SubscriptionFilter
    title = _("Integrations")
    sort_fields = {"name": "name", "kind": "kind", "created": "created_at"}
    default_sort = "name"
    columns = [
        ("name", _("Name")),
        ("kind", _("Kind")),
        ("", _("Sends to")),
        ("", _("Events")),
        ("", _("Pending")),
        ("", _("Failed")),
        ("", _("Active")),
    ]
    create_url_name = "outbox:subscription_create"
    create_capability = "webhook.edit"

    def queryset(self):
        return subscription_list()


class SubscriptionDetailView(FilteredListView):
    """A subscription and its deliveries, newest first, filterable by status."""

    capability = "webhook.view"
    template_name = "outbox/subscription_detail.html"
    filterset_class = DeliveryFilter
    sort_fields = {"id": "id", "status": "status", "next": "next_attempt_at", "attempts": "attempts"}
    default_sort = "-id"
    columns = [
        ("id", _("Delivery")),
        ("", _("Event")),
        ("status", _("Status")),
        ("attempts", _("Attempts")),
        ("", _("Last answer")),
        ("next", _("Next attempt")),
        ("", ""),
    ]

    def queryset(self):
        return delivery_list(subscription=self.subscription)

    def get_context_data(self, **kwargs):
        self.subscription = get_object_or_404(WebhookSubscription, pk=kwargs["pk"])
        context = super().get_context_data(**kwargs)
        context.update(
            subscription=self.subscription,
            title=self.subscription.name,
            audit_entries=audit_trail_for(self.subscription),
            pending=DeliveryStatus.PENDING,
        )
        return context


class SubscriptionCreateView(ServiceFormView):
    capability = "webhook.edit"
    form_class = SubscriptionForm
    title = _("New subscription")

    def perform(self, form):
        return services.subscription_create(actor=self.request.user, via="web", **_form_data(form))


class SubscriptionEditView(SubscriptionCreateView):
    title = _("Edit subscription")

    def get_object(self):
        return get_object_or_404(WebhookSubscription, pk=self.kwargs["pk"])

    def perform(self, form):
        return services.subscription_update(
            subscription=self.object, actor=self.request.user, via="web", **_form_data(form)
        )


class DeliveryDetailView(CapabilityRequiredMixin, TemplateView):
    """One delivery: what was sent and every attempt (the delivery log)."""

    capability = "webhook.view"
    template_name = "outbox/delivery_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            delivery = delivery_get(pk=kwargs["pk"])
        except Delivery.DoesNotExist:
            raise Http404 from None
        context.update(
            delivery=delivery,
            title=str(delivery),
            # Pretty-printed for people; the receiver gets the compact bytes that are signed.
            body=json.dumps(json.loads(services.webhook_body(delivery.event)), indent=2, ensure_ascii=False),
            audit_entries=audit_trail_for(delivery),
            pending=DeliveryStatus.PENDING,
        )
        return context


class DeliveryRedeliverView(CapabilityRequiredMixin, View):
    """POST-only: send a delivered or failed delivery again."""

    capability = "webhook.edit"

    def post(self, request, pk):
        delivery = get_object_or_404(Delivery, pk=pk)
        try:
            services.delivery_redeliver(delivery=delivery, actor=request.user, via="web")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Delivery queued to be sent again."))
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = delivery.get_absolute_url()
        return redirect(back)
