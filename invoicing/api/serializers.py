from decimal import Decimal, InvalidOperation

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import ISSUED_STATUSES, Invoice, InvoiceAllowanceCharge, InvoiceApproval, InvoiceLine
from ..selectors import invoice_get_by_reference, invoice_lines_creditable, invoice_vat_breakdown

MONEY = {"max_digits": 18, "decimal_places": 2}
QUANTITY_DECIMALS = InvoiceLine._meta.get_field("quantity").decimal_places


class InvoiceListSerializer(serializers.ModelSerializer):
    """An invoice or credit note as a list shows it. The customer is the buyer as invoiced."""

    customer = serializers.CharField(source="buyer.number", default="", read_only=True, help_text="Customer number.")
    customer_name = serializers.CharField(source="buyer.name", default="", read_only=True)
    order = serializers.IntegerField(
        source="order.number", default=None, read_only=True, help_text="The order's number (when it bills one order)."
    )
    order_id = serializers.IntegerField(read_only=True, allow_null=True)
    credited_invoice = serializers.CharField(
        source="credited_invoice.number",
        default=None,
        read_only=True,
        help_text="For a credit note: the number of the invoice it credits.",
    )
    credited_invoice_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "kind",
            "number",
            "status",
            "customer",
            "customer_name",
            "order",
            "order_id",
            "credited_invoice",
            "credited_invoice_id",
            "currency",
            "issue_date",
            "delivery_date",
            "due_date",
            "net_amount",
            "vat_amount",
            "rounding_amount",
            "payable_amount",
            "payment_reference",
        ]
        read_only_fields = fields


class InvoiceLineSerializer(serializers.ModelSerializer):
    vat_category = serializers.CharField(source="vat_category.code", read_only=True)
    vat_code = serializers.CharField(source="vat_category_code", read_only=True, help_text="UNCL 5305 code.")
    credited_line = serializers.IntegerField(
        source="credited_line.position",
        default=None,
        read_only=True,
        help_text="For a credit note: the position of the line it credits on the credited invoice.",
    )

    class Meta:
        model = InvoiceLine
        fields = [
            "position",
            "sku",
            "description",
            "quantity",
            "unit",
            "unit_price",
            "discount_percent",
            "vat_category",
            "vat_code",
            "vat_rate",
            "vat_exemption_reason",
            "net_amount",
            "delivery_date",
            "credited_line",
        ]
        read_only_fields = fields


class InvoiceAllowanceChargeSerializer(serializers.ModelSerializer):
    vat_category = serializers.CharField(source="vat_category.code", read_only=True)
    vat_code = serializers.CharField(source="vat_category_code", read_only=True)

    class Meta:
        model = InvoiceAllowanceCharge
        fields = ["is_charge", "reason", "amount", "vat_category", "vat_code", "vat_rate"]
        read_only_fields = fields


class InvoiceVatSubtotalSerializer(serializers.Serializer):
    category_code = serializers.CharField()
    rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    taxable_amount = serializers.DecimalField(**MONEY)
    vat_amount = serializers.DecimalField(**MONEY)


class InvoiceApprovalSerializer(serializers.ModelSerializer):
    approver = serializers.CharField(source="approver.username", default=None, read_only=True)

    class Meta:
        model = InvoiceApproval
        fields = ["approver", "automatic", "at"]
        read_only_fields = fields


class ApprovalsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Approvals given (automatic ones included).")
    required = serializers.IntegerField(help_text="Approvals the document needs before it can be issued.")
    given = InvoiceApprovalSerializer(many=True)


class CreditNoteSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = ["id", "number", "status", "issue_date", "payable_amount", "reason"]
        read_only_fields = fields


class BaseCurrencySerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="The company's currency.")
    exchange_rate = serializers.DecimalField(max_digits=18, decimal_places=6)
    exchange_rate_date = serializers.DateField()
    vat_amount = serializers.DecimalField(**MONEY)


class DocumentLinksSerializer(serializers.Serializer):
    pdf = serializers.URLField(allow_null=True)
    ubl = serializers.URLField(allow_null=True)


class InvoiceSerializer(InvoiceListSerializer):
    """An invoice or credit note in full: lines, VAT per rate, approvals, documents and credit notes."""

    lines = InvoiceLineSerializer(many=True, read_only=True)
    allowance_charges = InvoiceAllowanceChargeSerializer(many=True, read_only=True)
    vat_breakdown = serializers.SerializerMethodField()
    base_currency = serializers.SerializerMethodField(
        help_text="For an invoice in another currency than the company's: the VAT in the company's currency "
        "at the rate of the invoice date. Null otherwise (and before issue)."
    )
    approvals = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField(help_text="Where to get the PDF and the UBL; null before issue.")
    credit_notes = CreditNoteSummarySerializer(many=True, read_only=True)

    class Meta(InvoiceListSerializer.Meta):
        fields = [
            *InvoiceListSerializer.Meta.fields,
            "reason",
            "buyer_reference",
            "order_reference",
            "period_start",
            "period_end",
            "payment_terms_days",
            "early_payment_discount_percent",
            "early_payment_discount_days",
            "reverse_charge",
            "seller",
            "buyer",
            "allowance_amount",
            "charge_amount",
            "gross_amount",
            "vat_breakdown",
            "base_currency",
            "lines",
            "allowance_charges",
            "approvals",
            "documents",
            "credit_notes",
            "created_at",
            "issued_at",
            "sent_at",
        ]
        read_only_fields = fields

    @extend_schema_field(InvoiceVatSubtotalSerializer(many=True))
    def get_vat_breakdown(self, invoice: Invoice) -> list[dict]:
        return InvoiceVatSubtotalSerializer(invoice_vat_breakdown(invoice), many=True).data

    @extend_schema_field(BaseCurrencySerializer(allow_null=True))
    def get_base_currency(self, invoice: Invoice) -> dict | None:
        if invoice.vat_amount_base is None or invoice.exchange_rate is None:
            return None
        return BaseCurrencySerializer(
            {
                "currency": invoice.seller.get("base_currency", ""),
                "exchange_rate": invoice.exchange_rate,
                "exchange_rate_date": invoice.exchange_rate_date,
                "vat_amount": invoice.vat_amount_base,
            }
        ).data

    @extend_schema_field(ApprovalsSerializer)
    def get_approvals(self, invoice: Invoice) -> dict:
        # The prefetch (invoice_list_detailed) holds the approvals still in force only.
        given = [approval for approval in invoice.approvals.all() if approval.withdrawn_at is None]
        return ApprovalsSerializer({"count": len(given), "required": invoice.approvals_required, "given": given}).data

    @extend_schema_field(DocumentLinksSerializer)
    def get_documents(self, invoice: Invoice) -> dict:
        if invoice.status not in ISSUED_STATUSES:
            return {"pdf": None, "ubl": None}
        return {name: self._url(f"invoice-{name}", invoice.pk) for name in ("pdf", "ubl")}

    def _url(self, name: str, pk: int) -> str:
        path = reverse(name, kwargs={"pk": pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


# Credit notes ------------------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "description": 'The invoice\'s id (a JSON number) or its number (a JSON string, e.g. "1001").',
    }
)
class InvoiceReferenceField(serializers.Field):
    """An issued invoice by id (a JSON number) or by number (a JSON string): numbers look like ids."""

    def to_internal_value(self, data) -> Invoice:
        if isinstance(data, bool) or not isinstance(data, int | str) or (isinstance(data, str) and not data.strip()):
            raise serializers.ValidationError(_("Give the invoice's id (a number) or its number (a string)."))
        invoice = invoice_get_by_reference(reference=data.strip() if isinstance(data, str) else data)
        if invoice is None:
            kind = _("id") if isinstance(data, int) else _("number")
            raise serializers.ValidationError(_("No invoice with %(kind)s %(ref)s.") % {"kind": kind, "ref": data})
        if invoice.status not in ISSUED_STATUSES:
            raise serializers.ValidationError(
                _("%(invoice)s is %(status)s; only an issued invoice can be credited (change the draft instead).")
                % {"invoice": invoice, "status": invoice.get_status_display().lower()}
            )
        return invoice

    def to_representation(self, value):
        return value.pk


class CreditLineInputSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, help_text="The line's position on the invoice (1, 2, ...).")
    quantity = serializers.DecimalField(
        max_digits=None, decimal_places=None, help_text="How much of the line to credit; at most what is left."
    )

    def validate_quantity(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError(_("The quantity must be more than 0."))
        try:
            exact = value == round(value, QUANTITY_DECIMALS)
        except InvalidOperation:
            exact = False
        if not exact:
            raise serializers.ValidationError(_("A quantity has at most %(n)d decimals.") % {"n": QUANTITY_DECIMALS})
        return value


class CreditNoteCreateSerializer(serializers.Serializer):
    invoice = InvoiceReferenceField()
    reason = serializers.CharField(max_length=200, help_text="Why the invoice is credited; printed on the credit note.")
    full = serializers.BooleanField(
        required=False, default=False, help_text="Credit everything still creditable on the invoice (leave out lines)."
    )
    lines = CreditLineInputSerializer(many=True, required=False, help_text="The lines and quantities to credit.")

    def validate(self, data: dict) -> dict:
        invoice: Invoice = data["invoice"]
        lines = data.get("lines")
        if data["full"]:
            if lines:
                raise serializers.ValidationError({"lines": [_("Give either lines or full, not both.")]})
            return data
        if not lines:
            raise serializers.ValidationError({"lines": [_("Choose the lines to credit, or set full to true.")]})
        creditable_by_position = {line.position: (line, q) for line, q in invoice_lines_creditable(invoice)}
        errors: list[dict] = [{} for _line in lines]
        seen: set[int] = set()
        pairs = []
        for index, item in enumerate(lines):
            line, creditable = creditable_by_position.get(item["line"], (None, None))
            if line is None:
                errors[index]["line"] = [_("%(invoice)s has no line %(n)d.") % {"invoice": invoice, "n": item["line"]}]
                continue
            if line.position in seen:
                errors[index]["line"] = [_("Line %(n)d is listed twice.") % {"n": line.position}]
                continue
            seen.add(line.position)
            # Checked again by the service under the invoice's lock; here to point at the field.
            if item["quantity"] > creditable:
                errors[index]["quantity"] = [
                    _("At most %(max)s can be credited (%(invoiced)s invoiced).")
                    % {"max": creditable.normalize(), "invoiced": line.quantity.normalize()}
                ]
            pairs.append((line, item["quantity"]))
        if any(errors):
            raise serializers.ValidationError({"lines": errors})
        data["line_pairs"] = pairs
        return data

    def service_kwargs(self) -> dict:
        data = self.validated_data
        return {
            "invoice": data["invoice"],
            "reason": data["reason"],
            "lines": None if data["full"] else data["line_pairs"],
        }
