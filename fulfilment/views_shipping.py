"""The warehouse's pages: the queue, pick lists (scanner-friendly, printable), packing and shipping."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from o2c.common.exceptions import ApplicationError
from o2c.common.forms import add_service_errors
from o2c.common.views import CapabilityRequiredMixin

from . import services
from .forms_shipping import CARRIERS, ShipForm, picked_from, weights_from
from .models import BatchPickList, BatchPickListStatus, PickList, PickListStatus, Shipment
from .selectors import orders_waiting_for_release
from .selectors.shipping import (
    batch_pick_list_get,
    pick_list_active_for_order,
    pick_list_get,
    pick_list_list,
    pick_lists_batch,
    shipment_get_detailed,
    shipments_shipped_on,
    shipments_to_ship,
)
from .services import shipping

TABS = [
    ("waiting", _("Waiting for release")),
    ("pick", _("To pick")),
    ("pack", _("To pack")),
    ("ship", _("To ship")),
    ("shipped", _("Shipped today")),
]


def _error_text(exc: ValidationError | ApplicationError) -> str:
    return exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)


class WarehouseMixin(CapabilityRequiredMixin):
    capability = "fulfilment.work"


class QueueView(WarehouseMixin, TemplateView):
    template_name = "fulfilment/queue.html"

    def rows(self, tab: str):
        if tab == "waiting":
            return orders_waiting_for_release()
        if tab == "pick":
            return pick_list_list(status=PickListStatus.OPEN)
        if tab == "pack":
            return pick_list_list(status=PickListStatus.PICKED)
        if tab == "ship":
            return shipments_to_ship()
        return shipments_shipped_on(day=timezone.localdate())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tab = self.request.GET.get("tab", "pick")
        if tab not in dict(TABS):
            tab = "pick"
        context.update(
            title=_("Warehouse"),
            tab=tab,
            tabs=[{"key": key, "label": label, "count": self.rows(key).count()} for key, label in TABS],
            rows=list(self.rows(tab)[:200]),
            now=timezone.now(),
        )
        return context


class ScanView(WarehouseMixin, View):
    """A scanned (or typed) order number opens the pick list the warehouse is working on for it."""

    def get(self, request):
        code = request.GET.get("code", "").strip()
        pick_list = pick_list_active_for_order(number=int(code)) if code.isdigit() else None
        if pick_list is None:
            messages.error(request, _("No pick list in progress for %(code)s.") % {"code": code or "—"})
            return redirect("fulfilment:queue")
        return redirect("fulfilment:pick_list", pk=pick_list.pk)


def _pick_list_or_404(pk: int) -> PickList:
    try:
        return pick_list_get(pk=pk)
    except PickList.DoesNotExist:
        raise Http404 from None


class PickListView(WarehouseMixin, View):
    """Pick with a scanner: each scanned SKU adds one to its line; Confirm records what was picked.

    The scanner types the code and presses Enter, which submits the form with the scan action (the
    form's first button); the page comes back with the counts so far, nothing saved until Confirm.
    """

    template_name = "fulfilment/pick_list.html"

    def render_page(self, pick_list, values=None, errors=None, form_error="", status=200):
        lines = list(pick_list.lines.all())
        values = values or {}
        for line in lines:
            line.value = values.get(line.pk, line.picked)
            line.error = (errors or {}).get(line.pk, "")
        context = {
            "title": str(pick_list),
            "pick_list": pick_list,
            "order": pick_list.order,
            "lines": lines,
            "form_error": form_error,
            "shipment": Shipment.objects.filter(pick_list=pick_list).first(),
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, pk):
        return self.render_page(_pick_list_or_404(pk))

    def post(self, request, pk):
        pick_list = _pick_list_or_404(pk)
        lines = list(pick_list.lines.all())
        picked, errors = picked_from(request.POST, [line.pk for line in lines])
        if request.POST.get("action") == "pick" and not errors:
            try:
                shipping.pick_list_pick(pick_list=pick_list, picked=picked, actor=request.user, via="web")
            except (ValidationError, ApplicationError) as exc:
                return self.render_page(pick_list, picked, errors, _error_text(exc), status=400)
            messages.success(request, _("Pick list %(id)s picked.") % {"id": pick_list.pk})
            return redirect("fulfilment:pick_list_pack", pk=pick_list.pk)
        code = request.POST.get("scan", "").strip()
        if not code:
            return self.render_page(pick_list, picked, errors)
        matching = [line for line in lines if line.order_line.product.sku.lower() == code.lower()]
        if matching:
            # The first line of that SKU still short of its quantity, so a SKU on two lines fills both.
            line = next((ln for ln in matching if picked.get(ln.pk, 0) < ln.quantity), matching[-1])
            picked[line.pk] = picked.get(line.pk, 0) + 1
            if picked[line.pk] > line.quantity:
                errors[line.pk] = str(_("More than the %(n)s to pick.") % {"n": f"{line.quantity.normalize():f}"})
            return self.render_page(pick_list, picked, errors)
        if code.isdigit():
            other = pick_list_active_for_order(number=int(code))
            if other is not None:
                return redirect("fulfilment:pick_list", pk=other.pk)
        message = _("%(code)s is neither a SKU on this pick list nor an order in progress.") % {"code": code}
        return self.render_page(pick_list, picked, errors, message, status=400)


class PickListBatchView(WarehouseMixin, TemplateView):
    """Many open pick lists as one walk through the warehouse, bin by bin (printable)."""

    template_name = "fulfilment/pick_list_batch.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        ids = [int(value) for value in self.request.GET.getlist("ids") if value.isdigit()]
        context.update(title=_("Batch pick"), stops=pick_lists_batch(pick_list_ids=ids), pick_list_ids=ids)
        return context


def _pick_list_ids(values: list[str]) -> list[int]:
    return [int(value) for value in values if value.isdigit()]


class PickListBatchPdfView(WarehouseMixin, View):
    """Ask for the batch's PDF (a worker renders it) and go to the page that offers it when ready."""

    def post(self, request):
        ids = _pick_list_ids(request.POST.getlist("ids"))
        try:
            batch = services.batch_pick_list_pdf_request(
                pick_list_ids=ids, actor=request.user, language=get_language() or "sv", via="web"
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(reverse("fulfilment:pick_list_batch") + "?" + "&".join(f"ids={i}" for i in ids))
        return redirect("fulfilment:pick_list_batch_pdf_status", pk=batch.pk)


def _batch_or_404(pk: int) -> BatchPickList:
    try:
        return batch_pick_list_get(pk=pk)
    except BatchPickList.DoesNotExist:
        raise Http404 from None


def _batch_file_present(batch: BatchPickList) -> bool:
    return batch.status == BatchPickListStatus.READY and batch.pdf.storage.exists(batch.pdf.name)


class PickListBatchPdfStatusView(WarehouseMixin, View):
    """The batch's PDF: "being prepared" until a worker has rendered it (htmx asks again every 2 s),
    then its download link. Never renders here."""

    def get(self, request, pk):
        batch = _batch_or_404(pk)
        if batch.status == BatchPickListStatus.READY and not _batch_file_present(batch):
            # A file lost from shared storage is simply rendered again.
            batch = services.batch_pick_list_pdf_request(
                pick_list_ids=batch.pick_list_ids, actor=request.user, language=batch.language, via="web"
            )
        ready = batch.status == BatchPickListStatus.READY
        context = {"title": str(batch), "batch": batch, "ready": ready}
        if request.headers.get("HX-Request"):
            return render(request, "fulfilment/_pick_list_batch_pdf_status.html", context)
        return render(request, "fulfilment/pick_list_batch_pdf_status.html", context, status=200 if ready else 202)


class PickListBatchPdfFileView(WarehouseMixin, View):
    """The rendered batch PDF; while there is none, its status page."""

    def get(self, request, pk):
        batch = _batch_or_404(pk)
        if not _batch_file_present(batch):
            return redirect("fulfilment:pick_list_batch_pdf_status", pk=pk)
        return FileResponse(
            batch.pdf.open("rb"), content_type="application/pdf", filename=f"batch-pick-list-{batch.pk}.pdf"
        )


class PackView(WarehouseMixin, View):
    """Weigh the packages of a picked list; Add and Remove change how many there are."""

    template_name = "fulfilment/pack.html"

    def render_page(self, pick_list, weights, errors=None, form_error="", status=200):
        context = {
            "title": _("Pack pick list %(id)s") % {"id": pick_list.pk},
            "pick_list": pick_list,
            "order": pick_list.order,
            "lines": [line for line in pick_list.lines.all() if line.picked > 0],
            "packages": [
                {"index": index, "number": index + 1, "weight": weight, "error": (errors or {}).get(index, "")}
                for index, weight in enumerate(weights)
            ],
            "form_error": form_error,
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, pk):
        pick_list = _pick_list_or_404(pk)
        if pick_list.status != PickListStatus.PICKED:
            return redirect("fulfilment:pick_list", pk=pk)
        return self.render_page(pick_list, [""])

    def post(self, request, pk):
        pick_list = _pick_list_or_404(pk)
        raw, weights = weights_from(request.POST)
        action = request.POST.get("action", "")
        if action == "add":
            return self.render_page(pick_list, [*raw, ""])
        if action.startswith("remove-"):
            index = int(action.removeprefix("remove-")) if action.removeprefix("remove-").isdigit() else -1
            return self.render_page(pick_list, [w for i, w in enumerate(raw) if i != index] or [""])
        errors = {i: str(_("Enter the weight in kg.")) for i, weight in enumerate(weights) if weight is None}
        if errors:
            return self.render_page(pick_list, raw, errors, status=400)
        try:
            shipment = shipping.pick_list_pack(pick_list=pick_list, packages=weights, actor=request.user, via="web")
        except ValidationError as exc:
            field_errors = {}
            for key, messages_ in getattr(exc, "message_dict", {}).items():
                if key.startswith("packages["):
                    field_errors[int(key[9:-1])] = " ".join(messages_)
            form_error = "" if field_errors else _error_text(exc)
            return self.render_page(pick_list, raw, field_errors, form_error, status=400)
        except ApplicationError as exc:
            return self.render_page(pick_list, raw, None, exc.message, status=400)
        messages.success(request, _("Packed in %(n)d packages.") % {"n": len(weights)})
        return redirect("fulfilment:shipment", pk=shipment.pk)


class ShipmentView(WarehouseMixin, View):
    """A shipment: its lines and packages, and while packed the form that hands it to the carrier."""

    template_name = "fulfilment/shipment.html"

    def get_shipment(self, pk) -> Shipment:
        try:
            return shipment_get_detailed().get(pk=pk)
        except Shipment.DoesNotExist:
            raise Http404 from None

    def render_page(self, shipment, form, status=200):
        context = {
            "title": str(shipment),
            "shipment": shipment,
            "order": shipment.order,
            "form": form,
            "carriers": CARRIERS,
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, pk):
        return self.render_page(self.get_shipment(pk), ShipForm())

    def post(self, request, pk):
        shipment = self.get_shipment(pk)
        form = ShipForm(request.POST)
        if form.is_valid():
            try:
                shipping.shipment_ship(shipment=shipment, actor=request.user, via="web", **form.cleaned_data)
            except (ValidationError, ApplicationError) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Shipment %(id)s shipped with %(carrier)s, tracking %(tracking)s.")
                    % {
                        "id": shipment.pk,
                        "carrier": form.cleaned_data["carrier"],
                        "tracking": form.cleaned_data["tracking_number"],
                    },
                )
                return redirect(reverse("fulfilment:queue") + "?tab=shipped")
        return self.render_page(shipment, form, status=400)


class PickListPdfView(WarehouseMixin, View):
    """The pick list as a PDF: served when a worker has rendered it, else asked for and waited on."""

    def get(self, request, pk):
        pick_list = _pick_list_or_404(pk)
        # A file lost from shared storage is simply rendered again.
        if pick_list.pdf and pick_list.pdf.storage.exists(pick_list.pdf.name):
            return FileResponse(
                pick_list.pdf.open("rb"), content_type="application/pdf", filename=f"pick-list-{pick_list.pk}.pdf"
            )
        services.pick_list_pdf_request(pick_list=pick_list, language=get_language() or "sv")
        context = {"title": str(pick_list), "pick_list": pick_list}
        return render(request, "fulfilment/pick_list_pdf_wait.html", context, status=202)
