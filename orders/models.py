"""Master data (company, customers, products, VAT) and, from issue 4 on, orders.

Master data lives in the first stage of the flow because every later stage reads it and apps
depend one way only (orders -> credit -> ... -> reporting).
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from o2c.common import identifiers
from o2c.common.countries import COMPANY_COUNTRIES, Country, Language
from o2c.common.models import TimeStampedModel
from o2c.common.money import Currency, money_field, validate_money_precision


class VatCategoryCode(models.TextChoices):
    """UNCL5305 duty/tax category codes used in EN 16931 and Peppol BIS 3 invoices."""

    STANDARD = "S", _("Standard rate")
    ZERO = "Z", _("Zero rated goods")
    EXEMPT = "E", _("Exempt from tax")
    REVERSE_CHARGE = "AE", _("VAT reverse charge")
    INTRA_EU = "K", _("Intra-community supply (VAT exempt)")
    EXPORT = "G", _("Free export item, tax not charged")
    OUTSIDE_SCOPE = "O", _("Services outside scope of tax")


class VatCategory(models.Model):
    country = models.CharField(_("country"), max_length=2, choices=COMPANY_COUNTRIES)
    code = models.SlugField(_("code"), max_length=40, help_text=_("Short name used by the API, e.g. 'standard'."))
    name = models.CharField(_("name"), max_length=100)
    uncl5305_code = models.CharField(_("e-invoice category (UNCL5305)"), max_length=2, choices=VatCategoryCode.choices)
    exemption_reason = models.CharField(
        _("exemption text on invoices"),
        max_length=200,
        blank=True,
        help_text=_("Required on invoices for every category but standard rate, e.g. 'Omvänd skattskyldighet'."),
    )
    exemption_reason_code = models.CharField(_("exemption code (VATEX)"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["country", "code"]
        constraints = [models.UniqueConstraint(fields=["country", "code"], name="vat_category_country_code_uniq")]
        verbose_name = _("VAT category")
        verbose_name_plural = _("VAT categories")

    def __str__(self) -> str:
        return f"{self.name} ({self.country})"


class VatRate(models.Model):
    category = models.ForeignKey(
        VatCategory, on_delete=models.PROTECT, related_name="rates", verbose_name=_("category")
    )
    rate = models.DecimalField(
        _("rate (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("99.99"))],
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(
        _("valid to"), null=True, blank=True, help_text=_("Last day the rate applies; empty while it still does.")
    )

    class Meta:
        ordering = ["category", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["category", "valid_from"], name="vat_rate_category_from_uniq"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=100), name="vat_rate_range"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")), name="vat_rate_period"
            ),
        ]
        verbose_name = _("VAT rate")
        verbose_name_plural = _("VAT rates")

    def __str__(self) -> str:
        return f"{self.category.code} {self.rate}% from {self.valid_from}"

    def clean(self) -> None:
        if self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The last day cannot be before the first.")})
        if not self.category_id:
            return
        siblings = VatRate.objects.filter(category_id=self.category_id).exclude(pk=self.pk)
        for other in siblings:
            starts_before_other_ends = other.valid_to is None or self.valid_from <= other.valid_to
            ends_after_other_starts = self.valid_to is None or self.valid_to >= other.valid_from
            if starts_before_other_ends and ends_after_other_starts:
                raise ValidationError(
                    {
                        "valid_from": _("Overlaps the rate %(rate)s%% valid from %(start)s.")
                        % {"rate": other.rate, "start": other.valid_from}
                    }
                )


class PaymentReferenceScheme(models.TextChoices):
    OCR = "ocr", _("OCR (Sweden)")
    KID = "kid", _("KID with MOD10 check digit (Norway)")
    KID_MOD11 = "k11", _("KID with MOD11 check digit (Norway)")
    RF = "rf", _("RF creditor reference (ISO 11649)")


class Company(TimeStampedModel):
    """The seller: the company that runs this o2c installation."""

    legal_name = models.CharField(_("legal name"), max_length=200)
    org_number = models.CharField(_("organisation number"), max_length=20)
    vat_number = models.CharField(_("VAT number"), max_length=20)
    street = models.CharField(_("street address"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, choices=COMPANY_COUNTRIES)
    base_currency = models.CharField(_("base currency"), max_length=3, choices=Currency.choices)
    f_skatt = models.BooleanField(
        _("approved for F-tax"),
        default=False,
        help_text=_("Swedish sellers: prints 'Godkänd för F-skatt' on invoices."),
    )
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    website = models.URLField(_("website"), blank=True)
    peppol_participant_id = models.CharField(
        _("Peppol participant id"), max_length=60, blank=True, help_text=_("scheme:identifier, e.g. 0007:5560360793")
    )
    payment_reference_scheme = models.CharField(
        _("payment reference"), max_length=3, choices=PaymentReferenceScheme.choices, default=PaymentReferenceScheme.OCR
    )
    invoice_series = models.ForeignKey(
        "NumberSeries",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invoice number series"),
    )
    credit_note_series = models.ForeignKey(
        "NumberSeries",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("credit note number series"),
        help_text=_("Empty: credit notes share the invoice series."),
    )

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.legal_name

    def clean(self) -> None:
        errors = identifiers.normalize_party(self, peppol_field="peppol_participant_id")
        if self.f_skatt and self.country != Country.SE:
            errors["f_skatt"] = [_("F-tax approval applies to Swedish companies only.")]
        if self.payment_reference_scheme in (PaymentReferenceScheme.KID, PaymentReferenceScheme.KID_MOD11) and (
            self.country != Country.NO
        ):
            errors["payment_reference_scheme"] = [_("KID references are for Norwegian companies.")]
        if self.payment_reference_scheme == PaymentReferenceScheme.OCR and self.country != Country.SE:
            errors["payment_reference_scheme"] = [_("OCR references are for Swedish companies.")]
        if errors:
            raise ValidationError(errors)


class NumberSeries(TimeStampedModel):
    """A sequence of document numbers. Numbers are handed out by invoicing under a row lock (issue 6)."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="number_series")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=20, blank=True)
    next_number = models.PositiveBigIntegerField(_("next number"), default=1)
    padding = models.PositiveSmallIntegerField(
        _("digits"), default=0, help_text=_("Pad numbers with zeros to this width.")
    )

    class Meta:
        ordering = ["company", "code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="number_series_company_code_uniq"),
            models.CheckConstraint(condition=Q(next_number__gte=1), name="number_series_next_positive"),
        ]
        verbose_name = _("number series")
        verbose_name_plural = _("number series")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}{str(self.next_number).zfill(self.padding)}…)"


class BankAccountKind(models.TextChoices):
    BANKGIRO = "bankgiro", _("Bankgiro")
    PLUSGIRO = "plusgiro", _("Plusgiro")
    IBAN = "iban", _("IBAN")
    NO_ACCOUNT = "no_account", _("Norwegian account number")


class BankAccount(TimeStampedModel):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="bank_accounts")
    kind = models.CharField(_("kind"), max_length=12, choices=BankAccountKind.choices)
    number = models.CharField(_("account"), max_length=40)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    show_on_invoice = models.BooleanField(_("show on invoices"), default=True)

    class Meta:
        ordering = ["company", "kind", "id"]
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def clean(self) -> None:
        normalize = {
            BankAccountKind.BANKGIRO: identifiers.normalize_bankgiro,
            BankAccountKind.PLUSGIRO: identifiers.normalize_plusgiro,
            BankAccountKind.IBAN: identifiers.normalize_iban,
            BankAccountKind.NO_ACCOUNT: identifiers.normalize_no_account,
        }[self.kind]
        errors = {}
        try:
            self.number = normalize(self.number)
        except ValidationError as exc:
            errors["number"] = exc.messages
        if self.bic:
            try:
                self.bic = identifiers.normalize_bic(self.bic)
            except ValidationError as exc:
                errors["bic"] = exc.messages
        elif self.kind == BankAccountKind.IBAN:
            errors["bic"] = [_("An IBAN needs its BIC on invoices.")]
        if errors:
            raise ValidationError(errors)


class InvoicingPeriod(models.TextChoices):
    SHIPMENT = "shipment", _("Per shipment")
    WEEK = "week", _("Collective, per week")
    MONTH = "month", _("Collective, per month")


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    BLOCKED = "blocked", _("Blocked")


class Customer(TimeStampedModel):
    # Fields only finance (capability customer.edit_credit) may set or change.
    CREDIT_FIELDS = (
        "credit_limit",
        "payment_terms_days",
        "early_payment_discount_percent",
        "early_payment_discount_days",
        "reminder_fees_agreed",
        "auto_approve_invoices_below",
    )
    # What a user may enter or change (in the form and over the API); status has its own actions.
    EDITABLE_FIELDS = (
        "number",
        "name",
        "country",
        "org_number",
        "vat_number",
        "billing_street",
        "billing_postal_code",
        "billing_city",
        "delivery_name",
        "delivery_street",
        "delivery_postal_code",
        "delivery_city",
        "delivery_country",
        "invoice_email",
        "phone",
        "language",
        "currency",
        "peppol_endpoint",
        "sales_rep",
        "payment_terms_days",
        "early_payment_discount_percent",
        "early_payment_discount_days",
        "credit_limit",
        "reminder_fees_agreed",
        "ship_complete",
        "release_delay_minutes",
        "invoicing_period",
        "auto_approve_invoices_below",
    )
    STATUS_TRANSITIONS = {
        CustomerStatus.ACTIVE: {CustomerStatus.BLOCKED},
        CustomerStatus.BLOCKED: {CustomerStatus.ACTIVE},
    }

    number = models.CharField(
        _("customer number"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9\-]*$", _("Use letters, digits and dashes."))],
    )
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2, choices=Country.choices, default=Country.SE)
    org_number = models.CharField(_("organisation number"), max_length=20, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    billing_street = models.CharField(_("billing street"), max_length=200)
    billing_postal_code = models.CharField(_("billing postal code"), max_length=20)
    billing_city = models.CharField(_("billing city"), max_length=100)
    delivery_name = models.CharField(_("delivery name"), max_length=200, blank=True)
    delivery_street = models.CharField(
        _("delivery street"), max_length=200, blank=True, help_text=_("Empty: deliver to the billing address.")
    )
    delivery_postal_code = models.CharField(_("delivery postal code"), max_length=20, blank=True)
    delivery_city = models.CharField(_("delivery city"), max_length=100, blank=True)
    delivery_country = models.CharField(_("delivery country"), max_length=2, choices=Country.choices, blank=True)
    invoice_email = models.EmailField(_("invoice email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.SV)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.SEK)
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days net)"), default=30, validators=[MaxValueValidator(365)]
    )
    early_payment_discount_percent = models.DecimalField(
        _("early-payment discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    early_payment_discount_days = models.PositiveSmallIntegerField(_("early-payment discount within (days)"), default=0)
    credit_limit = money_field(
        _("credit limit"),
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("In the customer's currency. 0 means no credit until finance sets a limit."),
    )
    peppol_endpoint = models.CharField(
        _("Peppol endpoint"), max_length=60, blank=True, help_text=_("scheme:identifier, e.g. 0007:5560360793")
    )
    reminder_fees_agreed = models.BooleanField(
        _("reminder fees agreed"),
        default=False,
        help_text=_("A Swedish reminder fee may only be charged when agreed in advance."),
    )
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("sales rep"),
    )
    status = models.CharField(_("status"), max_length=10, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)
    blocked_reason = models.CharField(_("blocked because"), max_length=200, blank=True)
    ship_complete = models.BooleanField(
        _("ship complete orders only"),
        default=False,
        help_text=_("Wait until every line is in stock instead of shipping what is there."),
    )
    release_delay_minutes = models.PositiveIntegerField(
        _("pick release delay (minutes)"),
        null=True,
        blank=True,
        help_text=_("Empty: the channel's delay. 0 sends confirmed orders to picking at once."),
    )
    invoicing_period = models.CharField(
        _("invoicing"),
        max_length=10,
        choices=InvoicingPeriod.choices,
        default=InvoicingPeriod.SHIPMENT,
        help_text=_("One invoice per shipment, or one collective invoice per week or month."),
    )
    auto_approve_invoices_below = money_field(
        _("approve invoices automatically below"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("In the customer's currency. Empty: the channel's or the company's amount."),
    )

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="customer_credit_limit_non_negative"),
            models.CheckConstraint(
                condition=Q(early_payment_discount_percent__gte=0) & Q(early_payment_discount_percent__lte=100),
                name="customer_discount_range",
            ),
        ]
        indexes = [models.Index(fields=["name"], name="customer_name_idx")]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("orders:customer_detail", args=[self.pk])

    @property
    def is_blocked(self) -> bool:
        return self.status == CustomerStatus.BLOCKED

    def clean(self) -> None:
        errors = identifiers.normalize_party(self, peppol_field="peppol_endpoint")
        if self.credit_limit is not None and self.currency:
            try:
                validate_money_precision(self.credit_limit, self.currency)
            except ValidationError as exc:
                errors["credit_limit"] = exc.messages
        if self.early_payment_discount_percent and not self.early_payment_discount_days:
            errors["early_payment_discount_days"] = [_("Say within how many days the discount applies.")]
        if (self.early_payment_discount_days or 0) >= (
            self.payment_terms_days or 0
        ) and self.early_payment_discount_days:
            errors["early_payment_discount_days"] = [_("The discount period must be shorter than the payment terms.")]
        if self.delivery_street and not (self.delivery_postal_code and self.delivery_city):
            errors["delivery_city"] = [_("A delivery address needs its postal code and city.")]
        if errors:
            raise ValidationError(errors)


class ProductKind(models.TextChoices):
    GOODS = "goods", _("Stock-tracked goods")
    SERVICE = "service", _("Service")


class Unit(models.TextChoices):
    """UN/ECE Recommendation 20 unit codes, as e-invoices require."""

    PIECE = "C62", _("pcs")
    HOUR = "HUR", _("hour")
    DAY = "DAY", _("day")
    KILOGRAM = "KGM", _("kg")
    METRE = "MTR", _("metre")
    LITRE = "LTR", _("litre")
    SQUARE_METRE = "MTK", _("m²")
    SET = "SET", _("set")
    MONTH = "MON", _("month")


class Product(TimeStampedModel):
    sku = models.CharField(
        _("SKU"),
        max_length=40,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9\-_.]*$", _("Use letters, digits, '-', '_' and '.'."))],
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    unit = models.CharField(_("unit"), max_length=3, choices=Unit.choices, default=Unit.PIECE)
    unit_price = money_field(_("unit price"), validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.SEK)
    vat_category = models.ForeignKey(
        VatCategory, on_delete=models.PROTECT, related_name="products", verbose_name=_("VAT category")
    )
    cost_price = money_field(
        _("cost price"),
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("What one unit costs us, for margins."),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ProductKind.choices, default=ProductKind.GOODS)
    requires_installation = models.BooleanField(
        _("requires installation"),
        default=False,
        help_text=_("Orders wait for a booked installer before release."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="product_unit_price_non_negative"),
            models.CheckConstraint(condition=Q(cost_price__gte=0), name="product_cost_price_non_negative"),
        ]
        indexes = [models.Index(fields=["name"], name="product_name_idx")]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("orders:product_detail", args=[self.pk])

    @property
    def is_stock_tracked(self) -> bool:
        return self.kind == ProductKind.GOODS

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for field in ("unit_price", "cost_price"):
            value = getattr(self, field)
            if value is not None and self.currency:
                try:
                    validate_money_precision(value, self.currency)
                except ValidationError as exc:
                    errors[field] = exc.messages
        if self.vat_category_id:
            company = Company.objects.only("country").first()
            if company and self.vat_category.country != company.country:
                errors["vat_category"] = [
                    _("Choose a VAT category of %(country)s, the company's country.") % {"country": company.country}
                ]
        if errors:
            raise ValidationError(errors)


# Orders ------------------------------------------------------------------------------------------


class Channel(models.TextChoices):
    MANUAL = "manual", _("Manual entry")
    API = "api", _("API")
    WEBSHOP = "webshop", _("Web shop")
    B2B_PORTAL = "b2b_portal", _("B2B portal")
    MARKETPLACE = "marketplace", _("Marketplace")


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    CREDIT_HOLD = "credit_hold", _("Credit hold")
    CONFIRMED = "confirmed", _("Confirmed")
    AWAITING_RELEASE = "awaiting_release", _("Awaiting release")
    RELEASED = "released", _("Released to warehouse")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    INVOICED = "invoiced", _("Invoiced")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# Open orders: accepted and not yet invoiced, closed or cancelled. They are what a customer still
# has running, and what the credit check adds up (credit.selectors.EXPOSURE_STATUSES) on every new
# order, so an index covers exactly these (order_customer_open_idx).
OPEN_ORDER_STATUSES = (
    OrderStatus.SUBMITTED,
    OrderStatus.CREDIT_HOLD,
    OrderStatus.CONFIRMED,
    OrderStatus.AWAITING_RELEASE,
    OrderStatus.RELEASED,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
)

S_ = OrderStatus
# The order state machine (drawn in docs/architecture.md). Cancellation is possible until picking
# starts: before release it costs nothing (no pick list exists); a released order's untouched pick
# list is withdrawn, and fulfilment refuses the cancel once anything is picked (its receiver of
# order_cancelled raises, which rolls the cancel back).
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S_.DRAFT: frozenset({S_.SUBMITTED, S_.CANCELLED}),
    S_.SUBMITTED: frozenset({S_.CREDIT_HOLD, S_.CONFIRMED, S_.CANCELLED}),
    S_.CREDIT_HOLD: frozenset({S_.CONFIRMED, S_.CANCELLED}),
    S_.CONFIRMED: frozenset({S_.AWAITING_RELEASE, S_.CANCELLED}),
    # Credit can pull an order back before it reaches the warehouse (the customer was blocked).
    S_.AWAITING_RELEASE: frozenset({S_.RELEASED, S_.CREDIT_HOLD, S_.CANCELLED}),
    S_.RELEASED: frozenset({S_.PARTIALLY_SHIPPED, S_.SHIPPED, S_.CANCELLED}),
    S_.PARTIALLY_SHIPPED: frozenset({S_.SHIPPED}),
    S_.SHIPPED: frozenset({S_.INVOICED}),
    S_.INVOICED: frozenset({S_.CLOSED}),
    S_.CLOSED: frozenset(),
    S_.CANCELLED: frozenset(),
}
CANCELLABLE_STATUSES = frozenset(s for s, targets in ORDER_TRANSITIONS.items() if S_.CANCELLED in targets)


class Order(TimeStampedModel):
    number = models.PositiveBigIntegerField(_("order number"), unique=True)
    customer = models.ForeignKey(  # indexed by order_customer_idx
        Customer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer"), db_index=False
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.MANUAL)
    external_reference = models.CharField(
        _("external reference"), max_length=100, blank=True, help_text=_("The channel's own order id.")
    )
    customer_reference = models.CharField(_("customer's reference"), max_length=100, blank=True)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("sales rep"),
    )
    order_date = models.DateField(_("order date"))
    requested_delivery_date = models.DateField(_("requested delivery date"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    net_amount = money_field(_("net"), default=Decimal("0"))
    vat_amount = money_field(_("VAT"), default=Decimal("0"))
    gross_amount = money_field(_("total"), default=Decimal("0"))
    # When a confirmed order may go to picking: confirmation + the release delay (or a manager's
    # choice). release_at is that time once the order has something to pick, and empty while it
    # waits for stock; the fulfilment sweep releases orders whose release_at has passed.
    release_earliest = models.DateTimeField(_("release not before"), null=True, blank=True)
    release_at = models.DateTimeField(_("release at"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancelled because"), max_length=200, blank=True)
    ship_complete = models.BooleanField(_("ship complete"), default=False)
    # The acting user, as on the log rows: no constraint in the database (its check took a KEY SHARE
    # lock on the API client's user row at every order's commit) and no index (nothing looks
    # orders up by it). Users are deactivated, never deleted; Django still refuses (PROTECT).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_reference"],
                condition=~Q(external_reference=""),
                name="order_channel_external_reference_uniq",
            ),
            models.CheckConstraint(
                condition=Q(gross_amount=models.F("net_amount") + models.F("vat_amount")),
                name="order_gross_is_net_plus_vat",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-number"], name="order_status_idx"),
            models.Index(fields=["customer", "-number"], name="order_customer_idx"),
            # The credit check sums a customer's open orders while it holds the customer's row
            # locked: this reads those orders only, however long the customer's history.
            models.Index(
                fields=["customer"],
                condition=Q(status__in=OPEN_ORDER_STATUSES),
                name="order_customer_open_idx",
            ),
            models.Index(
                fields=["release_at", "id"], condition=Q(status="awaiting_release"), name="order_release_due_idx"
            ),
        ]
        permissions = [("override_price", _("Can set a line's unit price other than the product's"))]
        verbose_name = _("order")
        verbose_name_plural = _("orders")

    def __str__(self) -> str:
        return gettext("Order %(number)s") % {"number": self.number}  # not lazily: every audit entry asks

    def get_absolute_url(self) -> str:
        return reverse("orders:order_detail", args=[self.pk])

    @property
    def is_cancellable(self) -> bool:
        return self.status in CANCELLABLE_STATUSES


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    position = models.PositiveSmallIntegerField(_("line"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=3, choices=Unit.choices)
    unit_price = money_field(_("unit price"))
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0"))
    vat_category = models.ForeignKey(VatCategory, on_delete=models.PROTECT, related_name="+")
    vat_rate = models.DecimalField(_("VAT (%)"), max_digits=5, decimal_places=2)
    net_amount = money_field(_("net"))

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="order_line_position_uniq"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_non_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100), name="order_line_discount_range"
            ),
        ]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")

    def __str__(self) -> str:
        return f"{self.position}: {self.quantity} × {self.description}"


class HoldKind(models.TextChoices):
    INSTALLER_BOOKED = "installer_booked", _("Installer booked")
    QUOTE_ACCEPTED = "quote_accepted", _("Quote accepted")
    MANUAL = "manual", _("Manual hold")


class OrderHold(models.Model):
    """A condition that blocks an order's release until a user says it is met."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="holds")
    kind = models.CharField(_("condition"), max_length=20, choices=HoldKind.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    satisfied_at = models.DateTimeField(_("met at"), null=True, blank=True)
    satisfied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    satisfied_note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["order", "id"]
        indexes = [models.Index(fields=["order"], condition=Q(satisfied_at__isnull=True), name="order_hold_open_idx")]
        verbose_name = _("hold")
        verbose_name_plural = _("holds")

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def is_open(self) -> bool:
        return self.satisfied_at is None
