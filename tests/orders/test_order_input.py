"""The plain-shape check of an e-order's body gives what OrderCreateSerializer gives, or leaves it to it."""

import copy
import datetime
from decimal import Decimal

import pytest
from rest_framework.exceptions import ValidationError

from orders.api.serializers import OrderCreateSerializer, _plain_order_input, _service_kwargs, order_create_input


def strict(value):
    """A comparable form that tells Decimal('1.50') from Decimal('1.5') and 0 from Decimal(0)."""
    if isinstance(value, dict):
        return {k: strict(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return (type(value).__name__, strict(vars(value)))
    return (type(value).__name__, repr(value))


def by_serializer(body):
    return _service_kwargs(OrderCreateSerializer().run_validation(copy.deepcopy(body)))


BASE = {"customer": "31001", "lines": [{"sku": "TANK-300", "quantity": "1"}]}

VALID = [
    BASE,
    {"customer": " 31001 ", "channel": "webshop", "external_reference": "  shop-1 ", "lines": []},
    {
        "customer": "31001",
        "channel": "marketplace",
        "external_reference": "x" * 100,
        "customer_reference": "PO 7",
        "currency": "SEK",
        "requested_delivery_date": "2026-12-24",
        "sales_rep": None,
        "note": "  Ring före  ",
        "ship_complete": True,
        "lines": [
            {"sku": "A", "quantity": "1.50", "unit_price": "10.005", "discount_percent": "12.5", "description": "  "},
            {"sku": "B", "quantity": 3, "unit_price": None, "discount_percent": 0},
            {"sku": " C ", "quantity": " 2 ", "description": "Åtta"},
            {"sku": "D", "quantity": "1E+1", "unit_price": 5},
            {"sku": "E", "quantity": "-1", "discount_percent": "-0"},  # the service refuses it, not the shape
        ],
    },
    {"customer": "31001", "requested_delivery_date": None, "ship_complete": False, "note": "", "lines": []},
]

# Valid, but not the plain shape: the serializer coerces them.
COERCED = [
    {"customer": 31001, "lines": []},
    {**BASE, "ship_complete": "true"},
    {**BASE, "lines": [{"sku": "A", "quantity": 1.5}]},
    {**BASE, "unknown_key": 1},
    {**BASE, "lines": [{"sku": "A", "quantity": "1", "colour": "red"}]},
    {**BASE, "ship_complete": 1},
]

INVALID = [
    {},
    [],
    "text",
    {"lines": []},
    {"customer": "", "lines": []},
    {"customer": "   ", "lines": []},
    {"customer": "x" * 21, "lines": []},
    {"customer": None, "lines": []},
    {"customer": "31001"},
    {"customer": "31001", "lines": {}},
    {"customer": "31001", "lines": "a"},
    {"customer": "31001", "lines": [[]]},
    {**BASE, "channel": "fax"},
    {**BASE, "channel": None},
    {**BASE, "external_reference": "x" * 101},
    {**BASE, "external_reference": None},
    {**BASE, "note": None},
    {**BASE, "currency": ""},
    {**BASE, "currency": "SEKK"},
    {**BASE, "currency": None},
    {**BASE, "requested_delivery_date": "24/12/2026"},
    {**BASE, "requested_delivery_date": "2026-02-30"},
    {**BASE, "requested_delivery_date": "2026-12-24T10:00"},
    {**BASE, "requested_delivery_date": 20261224},
    {**BASE, "ship_complete": "maybe"},
    {**BASE, "customer": "310\x0001"},
    {**BASE, "note": "a\ud800"},
    {"customer": "31001", "lines": [{"quantity": "1"}]},
    {"customer": "31001", "lines": [{"sku": "", "quantity": "1"}]},
    {"customer": "31001", "lines": [{"sku": "x" * 41, "quantity": "1"}]},
    {"customer": "31001", "lines": [{"sku": "A"}]},
    {"customer": "31001", "lines": [{"sku": "A", "quantity": None}]},
    {"customer": "31001", "lines": [{"sku": "A", "quantity": "one"}]},
    {"customer": "31001", "lines": [{"sku": "A", "quantity": "NaN"}]},
    {"customer": "31001", "lines": [{"sku": "A", "quantity": "Infinity"}]},
    {"customer": "31001", "lines": [{"sku": "A", "quantity": "1" * 1001}]},
    {"customer": "31001", "lines": [{"sku": "A", "quantity": True}]},
    {"customer": "31001", "lines": [{"sku": "A", "quantity": "1", "unit_price": "x"}]},
    {"customer": "31001", "lines": [{"sku": "A", "quantity": "1", "discount_percent": None}]},
    {"customer": "31001", "lines": [{"sku": "A", "quantity": "1", "description": "x" * 201}]},
]


@pytest.mark.parametrize("body", VALID)
def test_a_plain_body_gives_what_the_serializer_gives(body):
    assert strict(_plain_order_input(copy.deepcopy(body))) == strict(by_serializer(body))


@pytest.mark.parametrize("body", COERCED)
def test_a_body_the_serializer_coerces_is_left_to_it(body):
    assert _plain_order_input(copy.deepcopy(body)) is None
    assert strict(order_create_input(copy.deepcopy(body))) == strict(by_serializer(body))


@pytest.mark.parametrize("body", INVALID)
def test_every_invalid_body_is_left_to_the_serializer_and_refused_with_its_words(body):
    assert _plain_order_input(copy.deepcopy(body)) is None
    with pytest.raises(ValidationError) as plain_path:
        order_create_input(copy.deepcopy(body))
    with pytest.raises(ValidationError) as serializer:
        by_serializer(body)
    assert plain_path.value.detail == serializer.value.detail


def test_the_plain_path_parses_dates_and_keeps_the_discount_default_as_the_serializer_does():
    kwargs = _plain_order_input({**BASE, "requested_delivery_date": "2026-12-24"})
    assert kwargs["requested_delivery_date"] == datetime.date(2026, 12, 24)
    assert kwargs["lines"][0].discount_percent == 0 and kwargs["lines"][0].quantity == Decimal("1")
