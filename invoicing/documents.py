"""The invoice and credit-note PDF, rendered by WeasyPrint in a Celery worker after issue.

Rendering costs a quarter of a second of CPU a page, so it never happens inside `invoice_issue`
(which holds the number series lock) nor inside a request: issue schedules the task on commit,
and the worker stores the file in invoice.pdf. The PDF reads only the issued invoice's frozen data
(seller/buyer snapshots, lines, amounts), so rendering it again later gives the same document.

Long invoices are cut into pages here, not by the browser engine: a running "carried forward"
subtotal is not something CSS can compute, so lines are put into fixed-size page chunks with
"Carried forward" / "Brought forward" rows whose amounts add up.
"""

import base64
import logging
import mimetypes
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import zip_longest

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.templatetags.o2c import money
from orders.models import BankAccountKind

from . import references
from .models import ISSUED_STATUSES, Invoice, InvoiceLine, InvoicingSettings
from .services.drafting import totals_compute

__all__ = [
    "invoice_pdf_filename",
    "invoice_pdf_html",
    "invoice_pdf_pages",
    "invoice_pdf_present",
    "invoice_pdf_render",
    "invoice_pdf_request",
]

logger = logging.getLogger(__name__)
# A reader waiting for a PDF asks again every few seconds; queue a render at most this often.
PDF_REQUEUE_SECONDS = 30


def invoice_pdf_present(invoice: Invoice) -> bool:
    return bool(invoice.pdf) and invoice.pdf.storage.exists(invoice.pdf.name)


def invoice_pdf_request(*, invoice: Invoice) -> None:
    """Queue a render after commit for a reader waiting on a PDF that is not there.

    Issue queued one already; this covers a lost broker message or a file lost from storage. At
    most one request per invoice per PDF_REQUEUE_SECONDS, so polling pages and API clients do
    not flood the queue; a broker outage is logged and the reader keeps waiting.
    """
    from .tasks import invoice_render_pdf

    if invoice.status not in ISSUED_STATUSES or invoice_pdf_present(invoice):
        return
    key = f"invoicing:pdf-render-queued:{invoice.pk}"
    if not cache.add(key, True, timeout=PDF_REQUEUE_SECONDS):
        return

    def dispatch() -> None:
        try:
            invoice_render_pdf.delay(invoice.pk)
        except Exception:  # noqa: BLE001 - "being prepared" must not become a 500
            cache.delete(key)
            logger.exception("Could not queue the PDF of invoice %s", invoice.pk)

    transaction.on_commit(dispatch)


PDF_LANGUAGES = frozenset({"sv", "nb", "en"})
# Line rows (6 mm at 9 pt) per page: the first page also carries the letterhead, the parties and
# the invoice facts, a following page only a short header. A following page holds about 38, the
# first about 26; the margin is for long addresses, a tall logo, a credit note's reason.
# tests/invoicing/test_pdf.py checks that no chunk spills over its page.
FIRST_PAGE_ROWS = 22
NEXT_PAGE_ROWS = 34
# A longer description wraps in its column (about 50 characters wide): one more row per this many.
DESCRIPTION_CHARS_PER_ROW = 42


@dataclass
class LinePage:
    lines: list[InvoiceLine] = field(default_factory=list)
    brought_forward: Decimal | None = None
    carried_forward: Decimal | None = None


def _line_rows(line: InvoiceLine) -> int:
    return 1 + (len(line.description) - 1) // DESCRIPTION_CHARS_PER_ROW


def invoice_pdf_pages(
    lines: list[InvoiceLine], *, first_page_rows: int = FIRST_PAGE_ROWS, next_page_rows: int = NEXT_PAGE_ROWS
) -> list[LinePage]:
    """Cut the lines into pages; each page but the last carries its running net total forward."""
    pages = [LinePage()]
    budget = first_page_rows
    running = Decimal(0)
    for line in lines:
        rows = _line_rows(line)
        if pages[-1].lines and rows > budget:
            pages[-1].carried_forward = running
            pages.append(LinePage(brought_forward=running))
            budget = next_page_rows
        pages[-1].lines.append(line)
        budget -= rows
        running += line.net_amount
    return pages


def _reference_scheme(invoice: Invoice) -> str:
    # The scheme the company used at issue, frozen in the seller snapshot.
    return invoice.seller.get("payment_reference_scheme", "")


def _reference_label(scheme: str) -> str:
    return {
        references.OCR: _("OCR number"),
        references.KID: _("KID number"),
        references.KID_MOD11: _("KID number"),
        references.RF: _("RF reference"),
    }.get(scheme, _("Payment reference"))


def _logo_data_uri(settings: InvoicingSettings | None) -> str:
    """The company logo inlined, so the HTML renders the same from any storage and in a benchmark."""
    if settings is None or not settings.logo:
        return ""
    try:
        with settings.logo.open("rb") as handle:
            data = handle.read()
    except OSError:  # a lost logo must not stop the invoice from going out
        return ""
    mime = mimetypes.guess_type(settings.logo.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _payment_rows(invoice: Invoice, reference_label: str) -> list[tuple[str, str, str, str]]:
    """The payment box: where to pay and with which reference on the left, what and when on the right."""
    labels = dict(BankAccountKind.choices)
    where = []
    for account in invoice.seller.get("bank_accounts", []):
        bic = f"BIC {account['bic']}" if account.get("bic") else ""
        text = " · ".join(part for part in (account["number"], bic, account.get("bank_name")) if part)
        where.append((str(labels.get(account["kind"], account["kind"])), text))
    if invoice.payment_reference:
        where.append((reference_label, invoice.payment_reference))
    what = [
        (_("Total to pay"), money(invoice.payable_amount, invoice.currency)),
        (_("Due date"), invoice.due_date.isoformat() if invoice.due_date else ""),
    ]
    return [(*left, *right) for left, right in zip_longest(where, what, fillvalue=("", ""))]


def _early_payment_discount(invoice: Invoice) -> str:
    if invoice.is_credit_note or not invoice.early_payment_discount_percent or not invoice.early_payment_discount_days:
        return ""
    return _("%(percent)s %% discount if paid within %(days)s days") % {
        "percent": floatformat(invoice.early_payment_discount_percent, "-2"),
        "days": invoice.early_payment_discount_days,
    }


def _without_trailing_zeros(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _fx_note(invoice: Invoice) -> str:
    """A foreign-currency invoice states its VAT in the company's currency too, at the rate of its date."""
    base_currency = invoice.seller.get("base_currency", "")
    if invoice.vat_amount_base is None or not invoice.exchange_rate or not base_currency:
        return ""
    return _("VAT in %(currency)s: %(amount)s at the exchange rate %(rate)s of %(date)s") % {
        "currency": base_currency,
        "amount": money(invoice.vat_amount_base, base_currency),
        "rate": number_format(_without_trailing_zeros(invoice.exchange_rate), use_l10n=True),
        "date": invoice.exchange_rate_date.isoformat() if invoice.exchange_rate_date else "",
    }


def _context(invoice: Invoice) -> dict:
    lines = list(invoice.lines.all())
    allowance_charges = list(invoice.allowance_charges.all())
    # The VAT breakdown as issued: the same computation that fixed the invoice's amounts.
    totals = totals_compute(
        lines=[(line.vat_category_code, line.vat_rate, line.net_amount) for line in lines],
        allowance_charges=[(ac.is_charge, ac.vat_category_code, ac.vat_rate, ac.amount) for ac in allowance_charges],
        currency=invoice.currency,
        round_to_whole_units_=False,
    )
    exemptions: dict[str, str] = {}
    for line in lines:
        if line.vat_exemption_reason:
            exemptions.setdefault(line.vat_category_code, line.vat_exemption_reason)
    settings = InvoicingSettings.objects.filter(company_id=invoice.company_id).first()
    vat_rows = [
        {
            "category_code": row.category_code,
            "rate": row.rate,
            "taxable_amount": row.taxable_amount,
            "vat_amount": row.vat_amount,
            "exemption_reason": exemptions.get(row.category_code, ""),
        }
        for row in totals.vat_breakdown
    ]
    seller = invoice.seller
    scheme = _reference_scheme(invoice)
    return {
        "invoice": invoice,
        "title": _("Credit note") if invoice.is_credit_note else _("Invoice"),
        "number_label": _("Credit note number") if invoice.is_credit_note else _("Invoice number"),
        "payment_terms": _("%(days)s days net") % {"days": invoice.payment_terms_days},
        "early_payment_discount": _early_payment_discount(invoice),
        "fx_note": _fx_note(invoice),
        "taxable_total": invoice.gross_amount - invoice.vat_amount,
        "seller": seller,
        "buyer": invoice.buyer,
        "pages": invoice_pdf_pages(lines),
        "allowance_charges": allowance_charges,
        "vat_rows": vat_rows,
        "exemption_notes": sorted({reason for reason in exemptions.values() if reason}),
        "payment_rows": _payment_rows(invoice, _reference_label(scheme)),
        "logo_uri": _logo_data_uri(settings),
        "footer": settings.footer if settings is not None else "",
        "f_skatt": seller.get("country") == "SE" and bool(seller.get("f_skatt")),
        "language": invoice.language,
    }


def invoice_pdf_html(invoice: Invoice) -> str:
    """The PDF's HTML in the customer's language (benchmarks render it alone as the ceiling)."""
    language = invoice.language if invoice.language in PDF_LANGUAGES else "sv"
    with translation.override(language):
        return render_to_string("invoicing/invoice_pdf.html", _context(invoice))


def invoice_pdf_filename(invoice: Invoice) -> str:
    prefix = "credit-note" if invoice.is_credit_note else "invoice"
    return get_valid_filename(f"{prefix}-{invoice.number}.pdf")


def _pdf_present(invoice: Invoice) -> bool:
    """The file is there: named on the row and still in (shared) storage."""
    return bool(invoice.pdf) and invoice.pdf.storage.exists(invoice.pdf.name)


def invoice_pdf_render(*, invoice_id: int) -> Invoice:
    """Render an issued invoice's or credit note's PDF and store it. Safe to run twice.

    A PDF already stored is kept (the document cannot have changed since issue); one whose file
    was lost from storage is rendered again.
    """
    from weasyprint import HTML  # imported here: the web process never renders

    # The Peppol UBL (several kB a row) is not part of the PDF: neither read fetches it.
    invoice = (
        Invoice.objects.select_related("credited_invoice").defer("ubl", "credited_invoice__ubl").get(pk=invoice_id)
    )
    if invoice.status not in ISSUED_STATUSES:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("%(invoice)s is %(status)s; only an issued invoice has a PDF.")
            % {"invoice": invoice, "status": invoice.get_status_display().lower()},
        )
    if _pdf_present(invoice):
        return invoice
    pdf = HTML(string=invoice_pdf_html(invoice)).write_pdf()
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().defer("ubl").get(pk=invoice_id)
        if _pdf_present(locked):
            return locked  # another worker stored it while this one rendered
        # Only these two columns may change on an issued invoice (the immutability trigger).
        locked.pdf.save(invoice_pdf_filename(locked), ContentFile(pdf), save=False)
        locked.pdf_rendered_at = timezone.now()
        locked.save(update_fields=["pdf", "pdf_rendered_at"])
    return locked
