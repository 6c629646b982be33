"""order_representation (written out for speed) gives what OrderSerializer gives, for orders in every shape."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import services
from orders.api.serializers import OrderSerializer, order_representation
from orders.models import Channel, HoldKind, Order
from orders.selectors import order_get
from orders.services import LineInput
from tests.factories import user_with_role


@pytest.fixture
def sales(db):
    return user_with_role("sales")


def _both(order: Order) -> tuple[dict, dict]:
    return order_representation(order), dict(OrderSerializer(order).data)


def test_the_fields_are_the_serializers_fields_in_its_order(sales, customer, catalogue):
    order = services.order_create(customer=customer, actor=sales, lines=[LineInput(sku="FILTER", quantity=Decimal(1))])
    fast, drf = _both(order_get(pk=order.pk))
    assert list(fast) == list(OrderSerializer().fields)
    assert list(fast["lines"][0]) == list(drf["lines"][0])


def test_a_new_order_in_memory_and_read_back_gives_the_serializers_answer(sales, customer, catalogue):
    order = services.order_create(
        customer=customer,
        actor=sales,
        channel=Channel.WEBSHOP,
        external_reference="shop-1",
        customer_reference="PO 77",
        sales_rep=sales,
        requested_delivery_date=datetime.date(2026, 12, 24),
        note="Ring före leverans",
        ship_complete=True,
        lines=[
            LineInput(sku="HP-8", quantity=Decimal("1")),
            LineInput(sku="FILTER", quantity=Decimal("3"), discount_percent=Decimal("12.5")),
            LineInput(sku="BOOK", quantity=Decimal("2.5")),
        ],
    )
    for shape in (order, order_get(pk=order.pk)):  # as the create answer builds it, and as reads load it
        fast, drf = _both(shape)
        assert fast == drf
    assert {v["rate"] for v in fast["vat_breakdown"]} == {"25.00", "6.00"}
    assert fast["sales_rep"] == sales.username and fast["requested_delivery_date"] == "2026-12-24"
    assert fast["lines"][1]["discount_percent"] == "12.50" and fast["lines"][2]["quantity"] == "2.500"


def test_an_order_with_holds_open_and_met_and_no_sales_rep(sales, customer, catalogue):
    order = services.order_create(
        customer=customer, actor=sales, submit=False, lines=[LineInput(sku="BOOK", quantity=Decimal(1))]
    )
    open_hold = services.order_hold_add(order=order, reason="Väntar på ritning", actor=sales)
    met = services.order_hold_add(order=order, reason="Offert", actor=sales, kind=HoldKind.MANUAL)
    services.order_hold_satisfy(hold=met, note="Accepterad", actor=sales)
    fast, drf = _both(order_get(pk=order.pk))
    assert fast == drf
    assert [h["open"] for h in fast["holds"]] == [True, False]
    assert fast["sales_rep"] is None and fast["release_at"] is None
    assert open_hold.pk == fast["holds"][0]["id"]


def test_times_are_in_the_current_time_zone_and_utc_is_written_z(sales, customer, catalogue, settings):
    order = services.order_create(customer=customer, actor=sales, lines=[LineInput(sku="FILTER", quantity=Decimal(1))])
    order = order_get(pk=order.pk)
    for zone in ("Europe/Stockholm", "UTC", "America/New_York"):
        with timezone.override(zone):
            fast, drf = _both(order)
            assert fast == drf, zone
    with timezone.override("UTC"):
        assert order_representation(order)["created_at"].endswith("Z")
