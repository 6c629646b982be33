"""Finance's invoicing pages: the lists, the invoice page and its actions, runs, rates and settings.

Each action is a POST form that calls one service; a refusal comes back as a message on the page
it was sent from. Nothing here decides a business rule.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from o2c.common.audit import audit_trail_for
from o2c.common.exceptions import ApplicationError
from o2c.common.roles import user_can
from o2c.common.views import CapabilityRequiredMixin, FilteredListView
from orders.models import Order
from orders.selectors import company_get_current

from . import services
from .documents import invoice_pdf_filename, invoice_pdf_present, invoice_pdf_request
from .filters import InvoiceFilter
from .forms import (
    AllowanceChargeForm,
    CreditNoteForm,
    ExchangeRateFilterForm,
    ExchangeRateImportForm,
    InvoiceRunForm,
    InvoicingSettingsForm,
    LineForm,
    LineUpdateForm,
    ManualInvoiceForm,
    ManualLineFormSet,
    NoteForm,
    ReasonForm,
    SendForm,
)
from .models import (
    ISSUED_STATUSES,
    ChannelAutoApproval,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceRun,
    InvoiceRunStatus,
    InvoiceStatus,
)
from .selectors import (
    exchange_rate_list,
    invoice_comparison,
    invoice_get,
    invoice_lines_creditable,
    invoice_list,
    invoice_run_get,
    invoice_run_invoices,
    invoice_run_list,
    invoice_shipments,
    invoice_totals_by_currency,
    invoice_vat_breakdown,
    invoices_awaiting_approval_by,
    to_invoice_list,
)

VIA = "web"


def _error_text(exc: ValidationError | ApplicationError) -> str:
    return exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)


def _form_error_text(form) -> str:
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts.append(f"{label}: {' '.join(errors)}" if label else " ".join(errors))
    return " ".join(parts)


def _invoice_or_404(pk: int) -> Invoice:
    try:
        return invoice_get(pk=pk)
    except Invoice.DoesNotExist:
        raise Http404 from None


def _detail_url(invoice: Invoice) -> str:
    return reverse("invoicing:invoice_detail", args=[invoice.pk])


# Lists -------------------------------------------------------------------------------------------


class InvoiceListView(FilteredListView):
    capability = "invoice.view"
    template_name = "invoicing/invoice_list.html"
    filterset_class = InvoiceFilter
    title = _("Invoices")
    sort_fields = {
        "id": "id",
        "number": "number",
        "issued": "issue_date",
        "due": "due_date",
        "customer": "customer__name",
        "total": "payable_amount",
        "status": "status",
    }
    default_sort = "-id"
    columns = [
        ("number", _("Number")),
        ("", _("Kind")),
        ("issued", _("Invoice date")),
        ("due", _("Due date")),
        ("customer", _("Customer")),
        ("", _("Order")),
        ("total", _("To pay")),
        ("status", _("Status")),
    ]
    create_url_name = "invoicing:invoice_create"
    create_capability = "invoice.edit"

    def queryset(self):
        return invoice_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["currency_totals"] = invoice_totals_by_currency(context["filter"].qs)
        return context


class ApprovalQueueView(CapabilityRequiredMixin, TemplateView):
    """Drafts waiting for the current user's attest: not their own, not approved by them yet."""

    capability = "invoice.approve"
    template_name = "invoicing/approval_queue.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        invoices = invoices_awaiting_approval_by(user=self.request.user)
        page = Paginator(invoices, 50).get_page(self.request.GET.get("page"))
        context.update(title=_("Awaiting my approval"), page_obj=page, rows=page.object_list)
        return context


class ToInvoiceView(CapabilityRequiredMixin, View):
    """What is shipped (or confirmed, for services) and not billed yet, grouped as a run would bill
    it; finance drafts one invoice at a time here, or starts a run for all of it."""

    capability = "invoice.edit"

    def get(self, request):
        rows = to_invoice_list(up_to=timezone.localdate())
        page = Paginator(rows, 50).get_page(request.GET.get("page"))
        context = {"title": _("To invoice"), "page_obj": page, "rows": page.object_list, "count": len(rows)}
        return render(request, "invoicing/to_invoice.html", context)

    def post(self, request):
        key = request.POST.get("group", "")
        kind, _sep, ids = key.partition(":")
        try:
            if kind == "order" and ids.isdigit():
                order = get_object_or_404(Order, pk=int(ids))
                invoice = services.invoice_draft_for_services(order=order, actor=request.user, via="web")
            elif kind == "shipments" and ids and all(part.isdigit() for part in ids.split(",")):
                shipment_ids = [int(part) for part in ids.split(",")]
                invoice = services.invoice_draft_from_shipments(
                    shipment_ids=shipment_ids, actor=request.user, via="web"
                )
            else:
                raise Http404
        except (ValidationError, ApplicationError) as exc:
            messages.error(request, _error_text(exc))
            return redirect("invoicing:to_invoice")
        if invoice is None:
            messages.info(request, _("Everything there is billed already."))
            return redirect("invoicing:to_invoice")
        messages.success(request, _("%(invoice)s drafted.") % {"invoice": invoice})
        return redirect(_detail_url(invoice))


# The invoice page --------------------------------------------------------------------------------


class InvoiceDetailView(CapabilityRequiredMixin, View):
    capability = "invoice.view"
    template_name = "invoicing/invoice_detail.html"

    def get(self, request, pk):
        invoice = _invoice_or_404(pk)
        user = request.user
        approvals = list(invoice.approvals.all())
        active = [a for a in approvals if a.withdrawn_at is None]
        is_draft = invoice.status == InvoiceStatus.DRAFT
        issued = invoice.status in ISSUED_STATUSES
        context = {
            "title": str(invoice),
            "invoice": invoice,
            "lines": invoice.lines.all(),
            "allowance_charges": invoice.allowance_charges.all(),
            "vat_breakdown": invoice_vat_breakdown(invoice),
            "approvals": approvals,
            "approvals_given": len(active),
            "sends": invoice.sends.select_related("requested_by"),
            "credit_notes": invoice.credit_notes.order_by("id"),
            "shipments": invoice_shipments(invoice),
            "audit_entries": audit_trail_for(invoice),
            "is_draft": is_draft,
            "issued": issued,
            "pdf_ready": invoice_pdf_present(invoice),
            "may_edit": is_draft and user_can(user, "invoice.edit"),
            "may_approve": is_draft and user_can(user, "invoice.approve"),
            "made_by_me": invoice.created_by_id == user.pk,
            "approved_by_me": any(a.approver_id == user.pk for a in active),
            "may_reopen": invoice.status == InvoiceStatus.APPROVED and user_can(user, "invoice.edit"),
            "may_discard": invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.APPROVED)
            and user_can(user, "invoice.edit"),
            "may_issue": invoice.status == InvoiceStatus.APPROVED and user_can(user, "invoice.issue"),
            "may_send": issued and user_can(user, "invoice.issue"),
            "may_credit": issued and invoice.kind == InvoiceKind.INVOICE and user_can(user, "credit_note.create"),
            "note_form": NoteForm(),
            "reason_form": ReasonForm(),
            "line_form": LineForm() if is_draft else None,
            "allowance_form": AllowanceChargeForm() if is_draft else None,
            "send_form": SendForm(),
        }
        if is_draft and invoice.kind == InvoiceKind.INVOICE:
            context["comparison"] = invoice_comparison(invoice)
            context["comparison_differs"] = any(row.differs for row in context["comparison"])
        if context["may_credit"]:
            context["credit_form"] = CreditNoteForm(lines=invoice_lines_creditable(invoice))
        return render(request, self.template_name, context)


class InvoiceActionView(CapabilityRequiredMixin, View):
    """POST-only: parse one small form, call one service, say how it went, back to the invoice."""

    form_class = None
    success_message = ""

    def get(self, request, *args, **kwargs):
        return redirect(self.invoice_url())

    def invoice_url(self) -> str:
        return reverse("invoicing:invoice_detail", args=[self.kwargs["pk"]])

    def get_invoice(self) -> Invoice:
        return get_object_or_404(Invoice, pk=self.kwargs["pk"])

    def make_form(self, invoice: Invoice):
        return self.form_class(self.request.POST, self.request.FILES) if self.form_class else None

    def perform(self, invoice: Invoice, form):
        raise NotImplementedError

    def success_url(self, invoice: Invoice, result) -> str:
        return _detail_url(invoice)

    def message(self, invoice: Invoice, result) -> str:
        return self.success_message

    def post(self, request, *args, **kwargs):
        invoice = self.get_invoice()
        form = self.make_form(invoice)
        if form is not None and not form.is_valid():
            messages.error(request, _form_error_text(form))
            return redirect(_detail_url(invoice))
        try:
            result = self.perform(invoice, form)
        except (ValidationError, ApplicationError) as exc:
            messages.error(request, _error_text(exc))
            return redirect(_detail_url(invoice))
        messages.success(request, self.message(invoice, result))
        return redirect(self.success_url(invoice, result))


class InvoiceApproveView(InvoiceActionView):
    capability = "invoice.approve"
    form_class = NoteForm

    def perform(self, invoice, form):
        return services.invoice_approve(
            invoice=invoice, actor=self.request.user, via=VIA, note=form.cleaned_data["note"]
        )

    def message(self, invoice, result):
        if result.status == InvoiceStatus.APPROVED:
            return _("Approved: the invoice can be issued.")
        return _("Your approval is recorded; it needs another approver.")


class InvoiceReopenView(InvoiceActionView):
    capability = "invoice.edit"
    form_class = ReasonForm
    success_message = _("The invoice is a draft again; its approvals have lapsed.")

    def perform(self, invoice, form):
        return services.invoice_reopen(
            invoice=invoice, actor=self.request.user, via=VIA, reason=form.cleaned_data["reason"]
        )


class InvoiceDiscardView(InvoiceActionView):
    capability = "invoice.edit"
    form_class = ReasonForm
    success_message = _("Draft discarded; what it billed can be billed again.")

    def perform(self, invoice, form):
        return services.invoice_discard(
            invoice=invoice, actor=self.request.user, via=VIA, reason=form.cleaned_data["reason"]
        )


class InvoiceIssueView(InvoiceActionView):
    capability = "invoice.issue"

    def perform(self, invoice, form):
        return services.invoice_issue(invoice=invoice, actor=self.request.user, via=VIA)

    def message(self, invoice, result):
        return _("Issued as number %(number)s; the PDF is being prepared.") % {"number": result.number}


class InvoiceSendView(InvoiceActionView):
    capability = "invoice.issue"
    form_class = SendForm

    def perform(self, invoice, form):
        return services.invoice_send(
            invoice=invoice, actor=self.request.user, via=VIA, recipient=form.cleaned_data["recipient"] or None
        )

    def message(self, invoice, result):
        return _("Queued for sending to %(recipient)s.") % {"recipient": result.recipient}


class InvoiceLineAddView(InvoiceActionView):
    capability = "invoice.edit"
    form_class = LineForm
    success_message = _("Line added.")

    def perform(self, invoice, form):
        return services.invoice_line_add(
            invoice=invoice, line=services.ManualLine(**form.cleaned_data), actor=self.request.user, via=VIA
        )


class InvoiceLineMixin:
    def get_invoice(self) -> Invoice:
        self.line = get_object_or_404(InvoiceLine.objects.select_related("invoice"), pk=self.kwargs["pk"])
        return self.line.invoice


class InvoiceLineUpdateView(InvoiceLineMixin, InvoiceActionView):
    capability = "invoice.edit"
    form_class = LineUpdateForm
    success_message = _("Line changed.")

    def perform(self, invoice, form):
        return services.invoice_line_update(line=self.line, actor=self.request.user, via=VIA, **form.cleaned_data)


class InvoiceLineRemoveView(InvoiceLineMixin, InvoiceActionView):
    capability = "invoice.edit"
    success_message = _("Line removed.")

    def perform(self, invoice, form):
        return services.invoice_line_remove(line=self.line, actor=self.request.user, via=VIA)


class InvoiceAllowanceChargeAddView(InvoiceActionView):
    capability = "invoice.edit"
    form_class = AllowanceChargeForm
    success_message = _("Allowance or charge added.")

    def perform(self, invoice, form):
        return services.invoice_allowance_charge_add(
            invoice=invoice, actor=self.request.user, via=VIA, **form.cleaned_data
        )


class CreditNoteCreateView(InvoiceActionView):
    capability = "credit_note.create"

    def make_form(self, invoice):
        return CreditNoteForm(self.request.POST, lines=invoice_lines_creditable(invoice))

    def perform(self, invoice, form):
        return services.credit_note_create(
            invoice=invoice,
            reason=form.cleaned_data["reason"],
            lines=form.chosen_lines(),
            actor=self.request.user,
            via=VIA,
        )

    def success_url(self, invoice, result):
        return _detail_url(result)

    def message(self, invoice, result):
        return _("Credit note drafted for %(invoice)s.") % {"invoice": invoice}


# Documents ---------------------------------------------------------------------------------------


class InvoicePdfView(CapabilityRequiredMixin, View):
    """The PDF when a worker has rendered it; until then a page that waits for it (htmx polling)."""

    capability = "invoice.view"

    def get(self, request, pk):
        invoice = get_object_or_404(Invoice, pk=pk)
        if invoice.status not in ISSUED_STATUSES:
            raise Http404
        if invoice_pdf_present(invoice):
            return FileResponse(
                invoice.pdf.open("rb"),
                content_type="application/pdf",
                as_attachment=True,
                filename=invoice_pdf_filename(invoice),
            )
        invoice_pdf_request(invoice=invoice)
        context = {"title": str(invoice), "invoice": invoice, "pdf_ready": False}
        return render(request, "invoicing/pdf_wait.html", context, status=202)


class InvoicePdfStatusView(CapabilityRequiredMixin, View):
    """The PDF's box on the invoice page: "being prepared" (asking again every 2 s), then the link."""

    capability = "invoice.view"

    def get(self, request, pk):
        invoice = get_object_or_404(Invoice, pk=pk)
        if invoice.status not in ISSUED_STATUSES:
            raise Http404
        ready = invoice_pdf_present(invoice)
        if not ready:
            invoice_pdf_request(invoice=invoice)
        return render(request, "invoicing/_pdf_status.html", {"invoice": invoice, "pdf_ready": ready})


class InvoiceUblView(CapabilityRequiredMixin, View):
    capability = "invoice.view"

    def get(self, request, pk):
        invoice = get_object_or_404(Invoice, pk=pk)
        if invoice.status not in ISSUED_STATUSES or not invoice.ubl:
            raise Http404
        response = HttpResponse(invoice.ubl, content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.xml"'
        return response


# Manual invoice ----------------------------------------------------------------------------------


class InvoiceCreateView(CapabilityRequiredMixin, View):
    """A manual invoice: a customer and a few lines typed by finance (empty rows are skipped)."""

    capability = "invoice.edit"
    template_name = "invoicing/invoice_create.html"

    def render_page(self, form, formset, status=200):
        context = {"title": _("New invoice"), "form": form, "formset": formset}
        return render(self.request, self.template_name, context, status=status)

    def get(self, request):
        return self.render_page(ManualInvoiceForm(), ManualLineFormSet(prefix="lines"))

    def post(self, request):
        form = ManualInvoiceForm(request.POST)
        formset = ManualLineFormSet(request.POST, prefix="lines")
        if form.is_valid() and formset.is_valid():
            lines = [services.ManualLine(**row.cleaned_data) for row in formset if row.cleaned_data]
            try:
                invoice = services.invoice_draft_manual(
                    customer=form.cleaned_data["customer"],
                    lines=lines,
                    actor=request.user,
                    via=VIA,
                    delivery_date=form.cleaned_data["delivery_date"],
                    buyer_reference=form.cleaned_data["buyer_reference"],
                    note=form.cleaned_data["note"],
                )
            except (ValidationError, ApplicationError) as exc:
                form.add_error(None, _error_text(exc))
            else:
                messages.success(request, _("Draft invoice made; another finance user approves it."))
                return redirect(_detail_url(invoice))
        return self.render_page(form, formset, status=400)


# Approval queue and runs -------------------------------------------------------------------------


class InvoiceRunListView(CapabilityRequiredMixin, View):
    capability = "invoice.run"
    template_name = "invoicing/run_list.html"

    def render_page(self, form, status=200):
        page = Paginator(invoice_run_list(), 25).get_page(self.request.GET.get("page"))
        context = {"title": _("Invoice runs"), "form": form, "page_obj": page, "rows": page.object_list}
        return render(self.request, self.template_name, context, status=status)

    def get(self, request):
        return self.render_page(InvoiceRunForm())

    def post(self, request):
        form = InvoiceRunForm(request.POST)
        if form.is_valid():
            try:
                run = services.invoice_run_start(actor=request.user, via=VIA, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                if "run_id" in exc.extra:
                    return redirect("invoicing:run_detail", pk=exc.extra["run_id"])
            else:
                messages.success(request, _("Invoice run started."))
                return redirect("invoicing:run_detail", pk=run.pk)
        return self.render_page(form, status=400)


class InvoiceRunDetailView(CapabilityRequiredMixin, View):
    """A run's progress bar (htmx asks every second while it is queued or running) and its summary."""

    capability = "invoice.run"

    def get(self, request, pk):
        try:
            run = invoice_run_get(pk=pk)
        except InvoiceRun.DoesNotExist:
            raise Http404 from None
        summary = run.summary or {}
        context = {
            "title": str(run),
            "run": run,
            "polling": run.status in (InvoiceRunStatus.QUEUED, InvoiceRunStatus.RUNNING),
            "summary": summary,
            "amounts": sorted((summary.get("amounts") or {}).items()),
            "errors": summary.get("errors") or [],
            "invoices": invoice_run_invoices(run)[:500],
        }
        if request.headers.get("HX-Request"):
            return render(request, "invoicing/_run_progress.html", context)
        return render(request, "invoicing/run_detail.html", context)


# Exchange rates ----------------------------------------------------------------------------------


class ExchangeRateListView(CapabilityRequiredMixin, View):
    capability = "exchange_rate.view"
    template_name = "invoicing/exchange_rate_list.html"

    def render_page(self, form, import_errors=(), status=200):
        filter_form = ExchangeRateFilterForm(self.request.GET or None)
        currency = filter_form.cleaned_data["currency"] if filter_form.is_valid() else ""
        page = Paginator(exchange_rate_list(currency=currency), 50).get_page(self.request.GET.get("page"))
        company = company_get_current()
        context = {
            "title": _("Exchange rates"),
            "filter_form": filter_form,
            "page_obj": page,
            "rows": page.object_list,
            "form": form,
            "import_errors": import_errors,
            "base_currency": company.base_currency if company else "",
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request):
        return self.render_page(ExchangeRateImportForm() if user_can(request.user, "exchange_rate.edit") else None)

    def post(self, request):
        if not user_can(request.user, "exchange_rate.edit"):
            raise PermissionDenied
        form = ExchangeRateImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_page(form, status=400)
        company = company_get_current()
        if company is None:
            form.add_error(None, _("Set up the company before invoicing."))
            return self.render_page(form, status=400)
        try:
            result = services.exchange_rates_import_csv(
                content=form.cleaned_data["file"].read(),
                base_currency=company.base_currency,
                source=form.cleaned_data["source"] or form.cleaned_data["file"].name,
                actor=request.user,
                via=VIA,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.render_page(form, status=400)
        if result.errors:
            form.add_error(None, _("Nothing was imported: fix these lines and upload the file again."))
            return self.render_page(form, import_errors=result.errors, status=400)
        messages.success(
            request,
            _("Exchange rates imported: %(created)d new, %(updated)d changed, %(unchanged)d unchanged.")
            % {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
        )
        return redirect("invoicing:exchange_rate_list")


# Settings ----------------------------------------------------------------------------------------


class InvoicingSettingsView(CapabilityRequiredMixin, View):
    capability = "invoicing_settings.edit"
    template_name = "invoicing/settings.html"

    def render_page(self, form, settings=None, status=200):
        context = {"title": _("Invoicing settings"), "form": form, "settings": settings}
        if settings is not None:
            context["audit_entries"] = audit_trail_for(settings)
        return render(self.request, self.template_name, context, status=status)

    def initial(self, settings) -> dict:
        initial = {
            "round_to_whole_units": settings.round_to_whole_units,
            "auto_approve_below": settings.auto_approve_below,
            "second_approval_from": settings.second_approval_from,
            "footer": settings.footer,
        }
        for row in ChannelAutoApproval.objects.all():
            initial[f"channel_{row.channel}"] = row.below
        return initial

    def get(self, request):
        company = company_get_current()
        if company is None:
            messages.error(request, _("Set up the company before invoicing."))
            return self.render_page(None)
        settings = services.invoicing_settings_for(company)
        return self.render_page(InvoicingSettingsForm(initial=self.initial(settings)), settings)

    def post(self, request):
        company = company_get_current()
        if company is None:
            messages.error(request, _("Set up the company before invoicing."))
            return self.render_page(None, status=400)
        settings = services.invoicing_settings_for(company)
        form = InvoicingSettingsForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.invoicing_settings_update(
                    company=company,
                    actor=request.user,
                    via=VIA,
                    round_to_whole_units=data["round_to_whole_units"],
                    auto_approve_below=data["auto_approve_below"],
                    second_approval_from=data["second_approval_from"],
                    footer=data["footer"],
                    logo=data["logo"] or None,
                    logo_clear=data["logo_clear"],
                    channel_limits=form.channel_limits(),
                )
            except (ValidationError, ApplicationError) as exc:
                form.add_error(None, _error_text(exc))
            else:
                messages.success(request, _("Invoicing settings saved."))
                return redirect("invoicing:settings")
        return self.render_page(form, settings, status=400)
