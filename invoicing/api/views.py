"""Invoices and credit notes over REST: read them, fetch their PDF and Peppol UBL, draft credit notes."""

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from o2c.common.api_errors import ApiErrorSerializer
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.idempotency import idempotent

from .. import services
from ..documents import invoice_pdf_filename, invoice_pdf_request
from ..models import ISSUED_STATUSES, Invoice
from ..selectors import invoice_list, invoice_list_detailed
from .filters import InvoiceFilter
from .serializers import CreditNoteCreateSerializer, InvoiceListSerializer, InvoiceSerializer

# How long a client waits before asking again for a PDF that is being rendered (~0.25 s a page).
PDF_RETRY_AFTER_SECONDS = 5


class PdfPreparingSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="Always `preparing`.")
    message = serializers.CharField()
    retry_after = serializers.IntegerField(help_text="Seconds to wait before asking again (also `Retry-After`).")


INVOICE_EXAMPLE = OpenApiExample(
    "Issued invoice",
    value={
        "id": 42,
        "kind": "invoice",
        "number": "1001",
        "status": "issued",
        "customer": "10001",
        "customer_name": "Fjällbacka Bygg AB",
        "order": 1042,
        "order_id": 42,
        "credited_invoice": None,
        "credited_invoice_id": None,
        "currency": "SEK",
        "issue_date": "2026-03-03",
        "delivery_date": "2026-03-02",
        "due_date": "2026-04-02",
        "net_amount": "2597.00",
        "vat_amount": "535.82",
        "rounding_amount": "0.18",
        "payable_amount": "3133.00",
        "payment_reference": "100155",
    },
    response_only=True,
)
CREDIT_PARTIAL_EXAMPLE = OpenApiExample(
    "Credit one pump of invoice 1001",
    value={"invoice": "1001", "reason": "One pump returned damaged", "lines": [{"line": 1, "quantity": "1"}]},
    request_only=True,
)
CREDIT_FULL_EXAMPLE = OpenApiExample(
    "Credit invoice 42 in full",
    value={"invoice": 42, "reason": "Invoiced to the wrong customer", "full": True},
    request_only=True,
)
CREDIT_VALIDATION_EXAMPLE = OpenApiExample(
    "Invalid lines",
    value={
        "error": {
            "code": "validation_error",
            "message": "The request has invalid fields; see 'fields'.",
            "fields": {
                "lines[0].quantity": ["At most 1 can be credited (2 invoiced)."],
                "lines[1].line": ["Invoice 1001 has no line 7."],
            },
        }
    },
    response_only=True,
    status_codes=["400"],
)
CREDIT_CONFLICT_EXAMPLE = OpenApiExample(
    "Already credited in full",
    value={"error": {"code": "conflict", "message": "Everything on this invoice is credited already."}},
    response_only=True,
    status_codes=["409"],
)
DRAFT_EXAMPLE = OpenApiExample(
    "A draft has no documents",
    value={
        "error": {
            "code": "invalid_state",
            "message": "Invoice draft 42 is draft: it gets its PDF when it is issued.",
        }
    },
    response_only=True,
    status_codes=["409"],
)
DRAFT_UBL_EXAMPLE = OpenApiExample(
    "A draft has no UBL",
    value={
        "error": {
            "code": "invalid_state",
            "message": "Invoice draft 42 is draft: it gets its UBL when it is issued.",
        }
    },
    response_only=True,
    status_codes=["409"],
)
PDF_PREPARING_EXAMPLE = OpenApiExample(
    "Just issued",
    value={
        "status": "preparing",
        "message": "The PDF of Invoice 1001 is being prepared; ask again in a few seconds.",
        "retry_after": PDF_RETRY_AFTER_SECONDS,
    },
    response_only=True,
    status_codes=["202"],
)
RETRY_AFTER_HEADER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[202],
    description="Seconds to wait before asking for the PDF again.",
)
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID) per credit note. A retry with the same key and body returns the first "
    "response and creates nothing; the same key with another body gets 422. Keys expire after 24 h.",
)


def _require_issued(invoice: Invoice, document: str) -> None:
    if invoice.status not in ISSUED_STATUSES:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("%(invoice)s is %(status)s: it gets its %(document)s when it is issued.")
            % {"invoice": invoice, "status": invoice.get_status_display().lower(), "document": document},
        )


def _stored_pdf(invoice: Invoice):
    """The stored PDF opened for reading, or None if it was not rendered yet or its file is lost."""
    if not invoice.pdf:
        return None
    try:
        return invoice.pdf.open("rb")
    except OSError:
        return None


@extend_schema_view(
    list=extend_schema(
        summary="List invoices and credit notes",
        description="Filter by `customer` (number), `status` (repeatable), `kind`, `order` (order number; a "
        "collective invoice is found by any order it bills), issue date (`issued_from`, `issued_to`) and due date "
        "(`due_from`, `due_to`); search with `q`; sort with `ordering`. Amounts are strings.",
        examples=[INVOICE_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary="Get an invoice or credit note",
        description="With its lines, allowances and charges, VAT per rate, the VAT in the company's currency for "
        "a foreign-currency invoice, approvals, links to the PDF and UBL, and the credit notes against it.",
    ),
)
class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    # Search is the filter set's `q` (and its alias `search`), one search for the API and the selector.
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = InvoiceFilter
    ordering_fields = ["id", "number", "issue_date", "due_date", "payable_amount"]
    ordering = ["-id"]
    read_capability = "invoice.view"

    def get_queryset(self):
        return invoice_list_detailed() if self.action == "retrieve" else invoice_list()

    def get_serializer_class(self):
        return InvoiceListSerializer if self.action == "list" else InvoiceSerializer

    def perform_content_negotiation(self, request, force=False):
        # The file endpoints answer with their file whatever the client accepts (Accept: application/pdf);
        # their other answers (202, 409) are JSON.
        return super().perform_content_negotiation(request, force=force or self.action in ("pdf", "ubl"))

    @extend_schema(
        summary="Download the PDF",
        description="The stored PDF. Just after issue it may still be rendering: then 202 with `Retry-After`, "
        "and a render is queued. A draft has no PDF (409).",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF"),
            202: OpenApiResponse(PdfPreparingSerializer, description="Being rendered; ask again later"),
            409: OpenApiResponse(ApiErrorSerializer, description="Not issued yet"),
        },
        parameters=[RETRY_AFTER_HEADER],
        examples=[PDF_PREPARING_EXAMPLE, DRAFT_EXAMPLE],
        filters=False,
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        invoice = self.get_object()
        _require_issued(invoice, "PDF")
        handle = _stored_pdf(invoice)
        if handle is not None:
            return FileResponse(
                handle, content_type="application/pdf", as_attachment=True, filename=invoice_pdf_filename(invoice)
            )
        invoice_pdf_request(invoice=invoice)
        return Response(
            {
                "status": "preparing",
                "message": _("The PDF of %(invoice)s is being prepared; ask again in a few seconds.")
                % {"invoice": invoice},
                "retry_after": PDF_RETRY_AFTER_SECONDS,
            },
            status=status.HTTP_202_ACCEPTED,
            headers={"Retry-After": str(PDF_RETRY_AFTER_SECONDS)},
        )

    @extend_schema(
        summary="Download the Peppol BIS Billing 3.0 UBL",
        description="The UBL 2.1 XML made at issue. A draft has none (409).",
        responses={
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="The UBL document"),
            404: OpenApiResponse(ApiErrorSerializer, description="Issued without a UBL"),
            409: OpenApiResponse(ApiErrorSerializer, description="Not issued yet"),
        },
        examples=[DRAFT_UBL_EXAMPLE],
        filters=False,
    )
    @action(detail=True, methods=["get"])
    def ubl(self, request, pk=None):
        invoice = self.get_object()
        _require_issued(invoice, "UBL")
        if not invoice.ubl:
            raise ApplicationError(
                code=ErrorCode.NOT_FOUND, message=_("%(invoice)s has no UBL document.") % {"invoice": invoice}
            )
        prefix = "credit-note" if invoice.is_credit_note else "invoice"
        response = HttpResponse(invoice.ubl.encode(), content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{get_valid_filename(f"{prefix}-{invoice.number}.xml")}"'
        )
        return response


class CreditNoteViewSet(viewsets.GenericViewSet):
    serializer_class = CreditNoteCreateSerializer
    read_capability = "invoice.view"  # there is nothing to GET here: 405, not 403
    action_capabilities = {"create": "credit_note.create"}

    @extend_schema(
        summary="Draft a credit note",
        description="Credit an issued invoice, given by id (a JSON number) or number (a JSON string): chosen lines "
        "(by their position on the invoice) and quantities, or `full: true` for everything still creditable. "
        "Prices, discounts and VAT are the invoice's. Returns the credit note draft, which is approved and "
        "issued like an invoice.",
        request=CreditNoteCreateSerializer,
        responses={
            201: InvoiceSerializer,
            400: OpenApiResponse(ApiErrorSerializer, description="Invalid fields, with paths (`lines[0].quantity`)"),
            409: OpenApiResponse(ApiErrorSerializer, description="Everything on the invoice is credited already"),
            422: OpenApiResponse(ApiErrorSerializer, description="Idempotency-Key reused with another body"),
        },
        parameters=[IDEMPOTENCY_HEADER],
        examples=[CREDIT_PARTIAL_EXAMPLE, CREDIT_FULL_EXAMPLE, CREDIT_VALIDATION_EXAMPLE, CREDIT_CONFLICT_EXAMPLE],
    )
    def create(self, request):
        def handler() -> Response:
            serializer = CreditNoteCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            credit_note = services.credit_note_create(actor=request.user, via="api", **serializer.service_kwargs())
            body = InvoiceSerializer(invoice_list_detailed().get(pk=credit_note.pk), context={"request": request})
            location = reverse("invoice-detail", kwargs={"pk": credit_note.pk})
            return Response(body.data, status=status.HTTP_201_CREATED, headers={"Location": location})

        return idempotent(request, handler)
