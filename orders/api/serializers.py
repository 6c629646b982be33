import datetime
import re
from decimal import Decimal

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Channel, Customer, Order, OrderHold, OrderLine, Product, VatCategory
from ..selectors import company_get_current, order_vat_breakdown
from ..services import LineInput


class CustomerSerializer(serializers.ModelSerializer):
    sales_rep = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    number = serializers.CharField(
        max_length=20, required=False, allow_blank=True, help_text="Empty or left out: the next free number."
    )

    class Meta:
        model = Customer
        fields = ["id", *Customer.EDITABLE_FIELDS, "status", "blocked_reason", "created_at", "updated_at"]
        read_only_fields = ["id", "status", "blocked_reason", "created_at", "updated_at"]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class VatCategoryField(serializers.SlugRelatedField):
    """A VAT category by its code ('standard', 'reduced_food', ...) in the company's country."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", **kwargs)

    def get_queryset(self):
        company = company_get_current()
        categories = VatCategory.objects.filter(is_active=True)
        return categories.filter(country=company.country) if company else categories

    def to_internal_value(self, data):
        try:
            return self.get_queryset().get(code=data)
        except VatCategory.DoesNotExist:
            known = ", ".join(self.get_queryset().values_list("code", flat=True))
            raise serializers.ValidationError(
                _("Unknown VAT category %(code)r; use one of: %(known)s.") % {"code": data, "known": known}
            ) from None
        except (TypeError, ValueError):
            raise serializers.ValidationError(_("Give the VAT category's code as a string.")) from None


class ProductSerializer(serializers.ModelSerializer):
    vat_category = VatCategoryField()
    vat_code = serializers.CharField(source="vat_category.uncl5305_code", read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "description",
            "unit",
            "unit_price",
            "currency",
            "vat_category",
            "vat_code",
            "cost_price",
            "kind",
            "requires_installation",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


# Orders ------------------------------------------------------------------------------------------


class OrderLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=40)
    # Precision is checked by the service against the order's currency, with a domain message.
    quantity = serializers.DecimalField(max_digits=None, decimal_places=None)
    unit_price = serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        required=False,
        allow_null=True,
        help_text="Leave out to use the product's price; setting it needs the override_price permission.",
    )
    discount_percent = serializers.DecimalField(max_digits=None, decimal_places=None, required=False, default=0)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class OrderCreateSerializer(serializers.Serializer):
    customer = serializers.CharField(max_length=20, help_text="The customer number.")
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    external_reference = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="The channel's own order id; unique per channel. A repeat gets 409 naming the existing order.",
    )
    customer_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    currency = serializers.CharField(max_length=3, required=False, help_text="Must be the customer's currency.")
    requested_delivery_date = serializers.DateField(required=False, allow_null=True)
    sales_rep = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    ship_complete = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Wait until every line is in stock. Left out: the customer's setting.",
    )
    lines = OrderLineInputSerializer(many=True, allow_empty=True)

    def service_kwargs(self) -> dict:
        return _service_kwargs(self.validated_data)


def _service_kwargs(validated: dict) -> dict:
    data = dict(validated)
    data["lines"] = [LineInput(**line) for line in data["lines"]]
    return data


_order_create_validator: OrderCreateSerializer | None = None


def order_create_input(data) -> dict:
    """Validate an e-order's body as OrderCreateSerializer does; order_create's keyword arguments.

    Raises the ValidationError `is_valid(raise_exception=True)` raises. A body in the plain shape
    web shops send (strings, numbers, no sales rep) is checked by `_plain_order_input`; anything
    else, and every body with an error, goes through the serializer, so every error message is
    DRF's. Validation keeps nothing in the serializer (run_validation returns or raises), so one
    serializer made once per process validates every request.
    """
    plain = _plain_order_input(data)
    if plain is not None:
        return plain
    global _order_create_validator
    if _order_create_validator is None:
        _order_create_validator = OrderCreateSerializer()
    return _service_kwargs(_order_create_validator.run_validation(data))


_CHANNELS = frozenset(Channel.values)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_ORDER_FIELDS = OrderCreateSerializer._declared_fields
_LINE_FIELDS = OrderLineInputSerializer._declared_fields
# The limits are the serializers': change a field there and the plain check follows.
_ORDER_TEXT = {name: _ORDER_FIELDS[name].max_length for name in ("external_reference", "customer_reference", "note")}
_REFUSED_CHARACTERS = re.compile("[\x00\ud800-\udfff]")  # CharField's null and surrogate validators


def _plain_text(value, max_length: int | None, *, blank: bool) -> str | None:
    # CharField: a string, stripped, within max_length; "" only where blank is allowed.
    if type(value) is not str or _REFUSED_CHARACTERS.search(value):
        return None
    value = value.strip()
    if (not value and not blank) or (max_length is not None and len(value) > max_length):
        return None
    return value


def _plain_decimal(value) -> Decimal | None:
    # DecimalField without digits limits: a finite number given as a string or an integer.
    if type(value) is int:
        value = str(value)
    if type(value) is not str or len(value) > 1000:
        return None
    try:
        number = Decimal(value.strip())
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def _plain_order_input(data) -> dict | None:
    """What OrderCreateSerializer's validation gives for a body it accepts, or None: then the
    serializer decides (other types it coerces, a sales rep to look up, or an error to word).

    Half a millisecond of DRF field machinery per e-order, for the shape nearly every one has.
    tests/orders/test_order_input.py checks both give the same for valid bodies and that this
    gives None for every invalid one it tries.
    """
    if type(data) is not dict or not _ORDER_FIELDS.keys() >= data.keys() or data.get("sales_rep") is not None:
        return None
    lines = data.get("lines")
    if type(lines) is not list:
        return None
    customer = _plain_text(data.get("customer"), _ORDER_FIELDS["customer"].max_length, blank=False)
    channel = data.get("channel", Channel.API)  # the default as the serializer gives it: the member
    if customer is None or (channel is not Channel.API and (type(channel) is not str or channel not in _CHANNELS)):
        return None
    out: dict = {"customer": customer, "channel": channel}
    for name, max_length in _ORDER_TEXT.items():
        value = _plain_text(data.get(name, ""), max_length, blank=True)
        if value is None:
            return None
        out[name] = value
    if "currency" in data:
        if (currency := _plain_text(data["currency"], _ORDER_FIELDS["currency"].max_length, blank=False)) is None:
            return None
        out["currency"] = currency
    if "requested_delivery_date" in data:
        value = data["requested_delivery_date"]
        if value is not None:
            if type(value) is not str or not _DATE.match(value):
                return None
            try:
                value = datetime.date.fromisoformat(value)
            except ValueError:
                return None
        out["requested_delivery_date"] = value
    if "sales_rep" in data:
        out["sales_rep"] = None
    ship_complete = data.get("ship_complete")
    if ship_complete is not None and type(ship_complete) is not bool:
        return None
    out["ship_complete"] = ship_complete
    parsed = []
    for line in lines:
        if type(line) is not dict or not _LINE_FIELDS.keys() >= line.keys():
            return None
        sku = _plain_text(line.get("sku"), _LINE_FIELDS["sku"].max_length, blank=False)
        quantity = _plain_decimal(line.get("quantity"))
        description = _plain_text(line.get("description", ""), _LINE_FIELDS["description"].max_length, blank=True)
        if sku is None or quantity is None or description is None:
            return None
        fields = {"sku": sku, "quantity": quantity, "description": description}
        if "unit_price" in line:
            price = line["unit_price"]
            if price is not None and (price := _plain_decimal(price)) is None:
                return None
            fields["unit_price"] = price
        if "discount_percent" in line:
            if (discount := _plain_decimal(line["discount_percent"])) is None:
                return None
            fields["discount_percent"] = discount
        else:
            fields["discount_percent"] = _LINE_FIELDS["discount_percent"].default  # as the serializer gives it
        parsed.append(LineInput(**fields))
    out["lines"] = parsed
    return out


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    vat_category = serializers.CharField(source="vat_category.code")
    vat_code = serializers.CharField(source="vat_category.uncl5305_code")

    class Meta:
        model = OrderLine
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
            "net_amount",
        ]


class OrderHoldSerializer(serializers.ModelSerializer):
    open = serializers.BooleanField(source="is_open")

    class Meta:
        model = OrderHold
        fields = ["id", "kind", "reason", "open", "created_at", "satisfied_at", "satisfied_note"]


class VatSubtotalSerializer(serializers.Serializer):
    category_code = serializers.CharField()
    rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    taxable_amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    vat_amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class OrderSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.number")
    customer_name = serializers.CharField(source="customer.name")
    sales_rep = serializers.CharField(source="sales_rep.username", default=None)
    lines = OrderLineSerializer(many=True)
    holds = OrderHoldSerializer(many=True)
    vat_breakdown = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "customer",
            "customer_name",
            "channel",
            "external_reference",
            "customer_reference",
            "currency",
            "sales_rep",
            "order_date",
            "requested_delivery_date",
            "note",
            "ship_complete",
            "net_amount",
            "vat_amount",
            "gross_amount",
            "vat_breakdown",
            "lines",
            "holds",
            "release_at",
            "cancel_reason",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(VatSubtotalSerializer(many=True))
    def get_vat_breakdown(self, order: Order) -> list[dict]:
        # One subtotal serializer per process: making one per order built its fields each time.
        global _vat_subtotal_representer
        if _vat_subtotal_representer is None:
            _vat_subtotal_representer = VatSubtotalSerializer()
        return [_vat_subtotal_representer.to_representation(v) for v in order_vat_breakdown(order=order)]


_vat_subtotal_representer: VatSubtotalSerializer | None = None


def _decimal_places(model, name: str) -> Decimal:
    return Decimal(1).scaleb(-model._meta.get_field(name).decimal_places)


def _decimal_text(value: Decimal, exponent: Decimal) -> str:
    # DRF's DecimalField with COERCE_DECIMAL_TO_STRING: the model field's places, fixed notation.
    return f"{value.quantize(exponent):f}"


def _datetime_text(value) -> str | None:
    # DRF's DateTimeField: ISO 8601 in the current time zone, "Z" for UTC.
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


_MONEY = _decimal_places(Order, "net_amount")
_LINE_PLACES = {
    name: _decimal_places(OrderLine, name)
    for name in ("quantity", "unit_price", "discount_percent", "vat_rate", "net_amount")
}
_SUBTOTAL_PLACES = {
    name: Decimal(1).scaleb(-field.decimal_places)
    for name, field in VatSubtotalSerializer._declared_fields.items()
    if isinstance(field, serializers.DecimalField)
}


def order_representation(order: Order) -> dict:
    """OrderSerializer(order).data, written out field by field.

    This is the answer to every new e-order: DRF's generic walk over the serializer's fields
    (get_attribute, SkipField checks, a decimal context copied per value) was a tenth of an
    order's CPU. OrderSerializer stays what the OpenAPI schema and the list and detail reads use;
    tests/orders/test_order_representation.py checks that both give the same dict for orders in
    every shape (holds, a sales rep, dates left empty, discounts, several VAT rates), so a field
    added to the serializer and not here fails there.
    """
    sales_rep = order.sales_rep
    lines = []
    for line in order.lines.all():
        category = line.vat_category
        lines.append(
            {
                "position": line.position,
                "sku": line.product.sku,
                "description": line.description,
                "quantity": _decimal_text(line.quantity, _LINE_PLACES["quantity"]),
                "unit": str(line.unit),
                "unit_price": _decimal_text(line.unit_price, _LINE_PLACES["unit_price"]),
                "discount_percent": _decimal_text(line.discount_percent, _LINE_PLACES["discount_percent"]),
                "vat_category": category.code,
                "vat_code": category.uncl5305_code,
                "vat_rate": _decimal_text(line.vat_rate, _LINE_PLACES["vat_rate"]),
                "net_amount": _decimal_text(line.net_amount, _LINE_PLACES["net_amount"]),
            }
        )
    return {
        "id": order.pk,
        "number": order.number,
        "status": str(order.status),
        "customer": order.customer.number,
        "customer_name": order.customer.name,
        "channel": str(order.channel),
        "external_reference": order.external_reference,
        "customer_reference": order.customer_reference,
        "currency": order.currency,
        "sales_rep": sales_rep.username if sales_rep is not None else None,
        "order_date": order.order_date.isoformat(),
        "requested_delivery_date": order.requested_delivery_date.isoformat() if order.requested_delivery_date else None,
        "note": order.note,
        "ship_complete": bool(order.ship_complete),
        "net_amount": _decimal_text(order.net_amount, _MONEY),
        "vat_amount": _decimal_text(order.vat_amount, _MONEY),
        "gross_amount": _decimal_text(order.gross_amount, _MONEY),
        "vat_breakdown": [
            {
                "category_code": subtotal.category_code,
                "rate": _decimal_text(subtotal.rate, _SUBTOTAL_PLACES["rate"]),
                "taxable_amount": _decimal_text(subtotal.taxable_amount, _SUBTOTAL_PLACES["taxable_amount"]),
                "vat_amount": _decimal_text(subtotal.vat_amount, _SUBTOTAL_PLACES["vat_amount"]),
            }
            for subtotal in order_vat_breakdown(order=order)
        ],
        "lines": lines,
        "holds": [
            {
                "id": hold.pk,
                "kind": str(hold.kind),
                "reason": hold.reason,
                "open": hold.is_open,
                "created_at": _datetime_text(hold.created_at),
                "satisfied_at": _datetime_text(hold.satisfied_at),
                "satisfied_note": hold.satisfied_note,
            }
            for hold in order.holds.all()
        ],
        "release_at": _datetime_text(order.release_at),
        "cancel_reason": order.cancel_reason,
        "created_at": _datetime_text(order.created_at),
        "updated_at": _datetime_text(order.updated_at),
    }


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
