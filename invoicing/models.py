"""Invoices and credit notes, their approval, numbering, documents and sending; exchange rates.

An invoice is drafted from what was shipped (or, for services, what was confirmed), approved by
someone other than its maker, and issued: only then does it get its number, from a gapless series
(invoicing.services.numbering). From issue on, the database itself refuses any change to what the
invoice says (invoicing/migrations/0002_immutability); corrections are credit notes.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fulfilment.models import ReturnAuthorization, ReturnLine, Shipment, ShipmentLine
from o2c.common.money import Currency, money_field
from orders.models import (
    Channel,
    Company,
    Customer,
    NumberSeries,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    Unit,
    VatCategory,
)

QUANTITY = {"max_digits": 12, "decimal_places": 3}

# Order statuses in which a service line counts as delivered and may be invoiced.
SERVICE_INVOICEABLE_ORDER_STATUSES = frozenset(
    {
        OrderStatus.CONFIRMED,
        OrderStatus.AWAITING_RELEASE,
        OrderStatus.RELEASED,
        OrderStatus.PARTIALLY_SHIPPED,
        OrderStatus.SHIPPED,
        OrderStatus.INVOICED,
    }
)
RATE = {"max_digits": 5, "decimal_places": 2}


class InvoicingSettings(models.Model):
    """The company's invoicing choices (one row per company, made on first use)."""

    company = models.OneToOneField(Company, on_delete=models.PROTECT, related_name="invoicing_settings")
    round_to_whole_units = models.BooleanField(
        _("round payable totals to whole kronor"),
        default=False,
        help_text=_("Adds a rounding line so the amount to pay has no öre."),
    )
    auto_approve_below = money_field(
        _("approve automatically below"),
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("In the base currency. Invoices below it need no approval; 0 means all need one."),
    )
    second_approval_from = money_field(
        _("second approval from"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("In the base currency. Invoices of at least this amount need two approvers. Empty: never."),
    )
    logo = models.FileField(_("logo"), upload_to="company/", blank=True)
    footer = models.CharField(_("invoice footer"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("invoicing settings")
        verbose_name_plural = _("invoicing settings")

    def __str__(self) -> str:
        return str(_("Invoicing settings of %(company)s") % {"company": self.company})


class ChannelAutoApproval(models.Model):
    """Auto-approval amount per sales channel (web shop orders are paid up front, say)."""

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, unique=True)
    below = money_field(_("approve automatically below"), validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        ordering = ["channel"]
        verbose_name = _("channel auto-approval")
        verbose_name_plural = _("channel auto-approvals")

    def __str__(self) -> str:
        return f"{self.get_channel_display()} < {self.below}"


class ExchangeRate(models.Model):
    """How many units of `base_currency` one unit of `currency` cost on `date` (a central bank's rate)."""

    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    base_currency = models.CharField(_("base currency"), max_length=3, choices=Currency.choices)
    date = models.DateField(_("date"))
    rate = models.DecimalField(
        _("rate"), max_digits=18, decimal_places=6, validators=[MinValueValidator(Decimal("0.000001"))]
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)

    class Meta:
        ordering = ["-date", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "base_currency", "date"], name="exchange_rate_uniq"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
            models.CheckConstraint(
                condition=~Q(currency=models.F("base_currency")), name="exchange_rate_two_currencies"
            ),
        ]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")

    def __str__(self) -> str:
        return f"{self.date} 1 {self.currency} = {self.rate} {self.base_currency}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")
    ISSUED = "issued", _("Issued")
    SENT = "sent", _("Sent")
    PAID = "paid", _("Paid")
    DISCARDED = "discarded", _("Discarded")


I_ = InvoiceStatus
INVOICE_TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    I_.DRAFT: frozenset({I_.APPROVED, I_.DISCARDED}),
    # An approved draft can go back for changes (approvals are dropped) or be thrown away.
    I_.APPROVED: frozenset({I_.ISSUED, I_.DRAFT, I_.DISCARDED}),
    I_.ISSUED: frozenset({I_.SENT, I_.PAID}),
    I_.SENT: frozenset({I_.PAID}),
    I_.PAID: frozenset(),
    I_.DISCARDED: frozenset(),
}
# From issue on, what the document says is fixed (the database enforces it too).
ISSUED_STATUSES = frozenset({I_.ISSUED, I_.SENT, I_.PAID})
EDITABLE_STATUSES = frozenset({I_.DRAFT})


class Invoice(models.Model):
    """An invoice or a credit note. Amounts are in `currency`; `*_base` amounts in the company's."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    status = models.CharField(_("status"), max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    # Set at issue, never before: a draft has no number, so a discarded draft leaves no gap.
    series = models.ForeignKey(NumberSeries, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    sequence = models.PositiveBigIntegerField(_("sequence"), null=True, blank=True)
    number = models.CharField(_("number"), max_length=40, blank=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("customer")
    )
    # The order when the invoice covers one order; collective invoices reach theirs through lines.
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices", verbose_name=_("order")
    )
    credited_invoice = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("credits invoice"),
    )
    rma = models.ForeignKey(
        ReturnAuthorization, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    run = models.ForeignKey("InvoiceRun", on_delete=models.PROTECT, null=True, blank=True, related_name="invoices")
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    language = models.CharField(_("language"), max_length=2, default="sv")
    issue_date = models.DateField(_("invoice date"), null=True, blank=True)
    delivery_date = models.DateField(_("delivery date"), null=True, blank=True)
    period_start = models.DateField(_("period from"), null=True, blank=True)
    period_end = models.DateField(_("period to"), null=True, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    early_payment_discount_percent = models.DecimalField(_("early-payment discount (%)"), default=Decimal("0"), **RATE)
    early_payment_discount_days = models.PositiveSmallIntegerField(_("early-payment discount within (days)"), default=0)
    buyer_reference = models.CharField(_("your reference"), max_length=100, blank=True)
    order_reference = models.CharField(_("order reference"), max_length=100, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=40, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True, help_text=_("Why a credit note is issued."))
    note = models.TextField(_("note"), blank=True)
    # Who sold and who bought, as they were when the invoice was issued.
    seller = models.JSONField(_("seller"), default=dict)
    buyer = models.JSONField(_("buyer"), default=dict)
    reverse_charge = models.BooleanField(_("reverse charge"), default=False)
    net_amount = money_field(_("net"), default=Decimal("0"))
    allowance_amount = money_field(_("allowances"), default=Decimal("0"))
    charge_amount = money_field(_("charges"), default=Decimal("0"))
    vat_amount = money_field(_("VAT"), default=Decimal("0"))
    gross_amount = money_field(_("total"), default=Decimal("0"))
    rounding_amount = money_field(_("rounding"), default=Decimal("0"))
    payable_amount = money_field(_("to pay"), default=Decimal("0"))
    exchange_rate = models.DecimalField(_("exchange rate"), max_digits=18, decimal_places=6, null=True, blank=True)
    exchange_rate_date = models.DateField(_("exchange rate date"), null=True, blank=True)
    vat_amount_base = money_field(_("VAT in base currency"), null=True, blank=True)
    approvals_required = models.PositiveSmallIntegerField(_("approvals required"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    ubl = models.TextField(_("Peppol UBL"), blank=True)
    pdf = models.FileField(_("PDF"), upload_to="invoices/%Y/%m/", blank=True, db_default="")
    pdf_rendered_at = models.DateTimeField(_("PDF rendered at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "sequence"], condition=Q(sequence__isnull=False), name="invoice_series_sequence_uniq"
            ),
            models.UniqueConstraint(
                fields=["company", "kind", "number"], condition=~Q(number=""), name="invoice_number_uniq"
            ),
            # Numbered exactly when issued: drafts have no number, issued documents always one.
            models.CheckConstraint(
                condition=(
                    Q(status__in=["draft", "approved", "discarded"], sequence__isnull=True, number="")
                    | (
                        Q(status__in=["issued", "sent", "paid"], sequence__isnull=False, issue_date__isnull=False)
                        & ~Q(number="")
                    )
                ),
                name="invoice_numbered_when_issued",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", credited_invoice__isnull=True) | Q(kind="credit_note"),
                name="invoice_only_credit_notes_credit",
            ),
            models.CheckConstraint(
                condition=Q(payable_amount=models.F("gross_amount") + models.F("rounding_amount")),
                name="invoice_payable_is_gross_plus_rounding",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-id"], name="invoice_status_idx"),
            models.Index(fields=["customer", "-id"], name="invoice_customer_idx"),
            models.Index(fields=["issue_date"], name="invoice_issue_date_idx"),
            models.Index(fields=["due_date"], name="invoice_due_date_idx"),
        ]
        permissions = [("approve_invoice", "Can approve invoices")]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")

    def __str__(self) -> str:
        label = _("Credit note") if self.kind == InvoiceKind.CREDIT_NOTE else _("Invoice")
        return f"{label} {self.number or _('draft %(id)s') % {'id': self.pk}}"

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE

    @property
    def is_issued(self) -> bool:
        return self.status in ISSUED_STATUSES


class InvoiceLineSource(models.TextChoices):
    SHIPMENT = "shipment", _("Shipped goods")
    SERVICE = "service", _("Confirmed service")
    MANUAL = "manual", _("Entered by finance")
    CREDIT = "credit", _("Credited")


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("line"))
    source = models.CharField(_("source"), max_length=10, choices=InvoiceLineSource.choices)
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    shipment_line = models.ForeignKey(
        ShipmentLine, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_lines"
    )
    credited_line = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_lines"
    )
    return_line = models.ForeignKey(ReturnLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    sku = models.CharField(_("SKU"), max_length=40, blank=True)
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    unit = models.CharField(_("unit"), max_length=3, choices=Unit.choices, default=Unit.PIECE)
    unit_price = money_field(_("unit price"))
    discount_percent = models.DecimalField(_("discount (%)"), default=Decimal("0"), **RATE)
    net_amount = money_field(_("net"))
    vat_category = models.ForeignKey(VatCategory, on_delete=models.PROTECT, related_name="+")
    vat_category_code = models.CharField(_("VAT category"), max_length=2)
    vat_rate = models.DecimalField(_("VAT (%)"), **RATE)
    vat_exemption_reason = models.CharField(_("VAT exemption"), max_length=200, blank=True)
    vat_exemption_reason_code = models.CharField(_("VAT exemption code"), max_length=30, blank=True)
    delivery_date = models.DateField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position_uniq"),
            # What was shipped is invoiced once: an invoice run that is restarted or repeated
            # cannot bill a shipment line twice (a discarded draft's lines are deleted).
            models.UniqueConstraint(
                fields=["shipment_line"], condition=Q(shipment_line__isnull=False), name="invoice_line_shipment_once"
            ),
            models.UniqueConstraint(
                fields=["order_line"], condition=Q(source="service"), name="invoice_line_service_once"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoice_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="invoice_line_price_not_negative"),
        ]
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")

    def __str__(self) -> str:
        return f"{self.position}. {self.description}"


class InvoiceAllowanceCharge(models.Model):
    """A document-level allowance (e.g. a bonus discount) or charge (freight), with its own VAT."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="allowance_charges")
    is_charge = models.BooleanField(_("charge"), default=False)
    reason = models.CharField(_("reason"), max_length=100)
    amount = money_field(_("amount"), validators=[MinValueValidator(Decimal("0.01"))])
    vat_category = models.ForeignKey(VatCategory, on_delete=models.PROTECT, related_name="+")
    vat_category_code = models.CharField(_("VAT category"), max_length=2)
    vat_rate = models.DecimalField(_("VAT (%)"), **RATE)

    class Meta:
        ordering = ["invoice", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_allowance_charge_positive")]
        verbose_name = _("allowance or charge")
        verbose_name_plural = _("allowances and charges")

    def __str__(self) -> str:
        return f"{'+' if self.is_charge else '-'}{self.amount} {self.reason}"


class InvoiceShipment(models.Model):
    """Which shipments an invoice bills: one shipment is billed by one invoice, ever."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="shipment_links")
    shipment = models.OneToOneField(Shipment, on_delete=models.PROTECT, related_name="invoice_link")

    class Meta:
        verbose_name = _("invoiced shipment")
        verbose_name_plural = _("invoiced shipments")

    def __str__(self) -> str:
        return f"{self.invoice} ← {self.shipment}"


class InvoiceApproval(models.Model):
    """One attest: a finance user other than the maker says the invoice may go out."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    automatic = models.BooleanField(_("automatic"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)
    # Approvals are dropped, not deleted, when an approved draft goes back for changes.
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        ordering = ["invoice", "at"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "approver"],
                condition=Q(withdrawn_at__isnull=True, approver__isnull=False),
                name="invoice_approval_once_per_user",
            ),
        ]
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")

    def __str__(self) -> str:
        return f"{self.invoice} ✓ {self.approver or _('automatic')}"


class SendChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    PEPPOL = "peppol", _("Peppol")


class SendStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class InvoiceSend(models.Model):
    """The send log: each time an invoice went (or failed to go) to the customer."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="sends")
    channel = models.CharField(_("channel"), max_length=10, choices=SendChannel.choices, default=SendChannel.EMAIL)
    recipient = models.CharField(_("to"), max_length=254)
    status = models.CharField(_("status"), max_length=10, choices=SendStatus.choices, default=SendStatus.QUEUED)
    attachments = models.JSONField(_("attachments"), default=list)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("invoice sending")
        verbose_name_plural = _("invoice sendings")

    def __str__(self) -> str:
        return f"{self.invoice} → {self.recipient} ({self.get_status_display()})"


class InvoiceRunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class InvoiceRun(models.Model):
    """Finance invoices everything shipped up to a date in one job, watched through a progress bar."""

    up_to = models.DateField(_("shipped up to"))
    status = models.CharField(
        _("status"), max_length=10, choices=InvoiceRunStatus.choices, default=InvoiceRunStatus.QUEUED
    )
    issue_approved = models.BooleanField(
        _("issue what needs no approval"),
        default=True,
        help_text=_("Invoices below the auto-approval amount are issued and sent at once."),
    )
    total = models.PositiveIntegerField(_("shipments to invoice"), default=0)
    processed = models.PositiveIntegerField(_("shipments done"), default=0)
    summary = models.JSONField(_("summary"), default=dict)
    error = models.TextField(_("error"), blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("invoice run")
        verbose_name_plural = _("invoice runs")

    def __str__(self) -> str:
        return str(_("Invoice run %(id)s up to %(date)s") % {"id": self.pk, "date": self.up_to})

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == InvoiceRunStatus.DONE else 0
        return min(100, self.processed * 100 // self.total)
