"""new_row builds the instance Model(**values) builds, for every model the hot paths build with it."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models import signals

from fulfilment.models import LineAllocation, StockItem, StockMove
from o2c.common.db import _row_plan, new_row
from o2c.common.models import AuditEntry
from o2c.outbox.models import OutboxEvent
from orders.models import Customer, Order, OrderLine, Product, VatCategory

NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.UTC)


def state(instance) -> dict:
    """Everything an instance holds: field values, cached related objects, adding/db."""
    values = {k: v for k, v in instance.__dict__.items() if k != "_state"}
    cache = instance._state.__dict__.get("fields_cache", {})
    return {
        "values": values,
        "cache": {name: id(obj) if obj is not None else None for name, obj in cache.items()},
        "adding": instance._state.adding,
        "db": instance._state.db,
    }


def close_in_time(a: dict, b: dict) -> dict:
    """Defaults of timezone.now differ by the microseconds between the two calls: compare the rest."""
    for key, value in list(a["values"].items()):
        if isinstance(value, datetime.datetime) and isinstance(b["values"].get(key), datetime.datetime):
            assert abs(value - b["values"][key]) < datetime.timedelta(seconds=5), key
            a["values"][key] = b["values"][key]
    return a


user = User(pk=7, username="rep")
customer = Customer(pk=3, number="31001")
product = Product(pk=5, sku="TANK-300")
category = VatCategory(pk=1, code="S")
item = StockItem(pk=11, product=product)
order = Order(pk=41, number=1041, customer=customer)
line = OrderLine(pk=51, order=order, product=product, position=1)

CASES = [
    (
        AuditEntry,
        {
            "content_type": ContentType(pk=29),
            "object_id": "41",
            "object_repr": "Order 1041",
            "action": "create",
            "changes": {"status": [None, "draft"]},
            "note": "",
            "actor": user,
            "via": "api",
        },
    ),
    (AuditEntry, {"content_type_id": 29, "object_id": "41", "action": "transition", "actor": None}),
    (OutboxEvent, {"event_type": "order.created", "aggregate_type": "order", "aggregate_id": "41", "payload": {}}),
    (OutboxEvent, {"event_type": "order.created", "payload": {"id": 41}, "actor": user, "occurred_at": NOW}),
    (
        StockMove,
        {
            "stock_item": item,
            "kind": "reserve",
            "on_hand_change": Decimal(0),
            "reserved_change": Decimal("3"),
            "on_hand_after": Decimal("10"),
            "reserved_after": Decimal("3"),
            "order_line": line,
            "actor": None,
            "reference": "order 1041",
            "note": "",
        },
    ),
    (StockMove, {"stock_item_id": 11, "kind": "receive", "on_hand_change": Decimal(5), "order_line": None}),
    (LineAllocation, {"order_line": line, "stock_item": item, "reserved": Decimal(2), "backordered": Decimal(1)}),
    (
        OrderLine,
        {
            "position": 2,
            "product": product,
            "description": "Varmvattenberedare",
            "quantity": Decimal("1.5"),
            "unit": "C62",
            "unit_price": Decimal("18900.00"),
            "discount_percent": Decimal(0),
            "vat_category": category,
            "vat_rate": Decimal("25.00"),
            "net_amount": Decimal("28350.00"),
        },
    ),
    (
        Order,
        {
            "customer": customer,
            "channel": "webshop",
            "external_reference": "W-1",
            "currency": "SEK",
            "sales_rep": None,
            "order_date": NOW.date(),
            "net_amount": Decimal("1.00"),
            "created_by": user,
        },
    ),
    (Order, {"customer_id": 3, "sales_rep_id": 7, "number": 1042}),
]


@pytest.mark.parametrize(("model", "values"), CASES, ids=[f"{m.__name__}-{i}" for i, (m, _) in enumerate(CASES)])
def test_new_row_builds_what_the_model_builds(model, values):
    expected = state(model(**values))
    if model is LineAllocation:
        del line._state.fields_cache["allocation"]  # the one-to-one's reverse side, set by each of the two
    built = new_row(model, **values)
    assert close_in_time(state(built), expected) == expected
    assert built.__class__ is model
    if model is LineAllocation:
        assert line.allocation is built  # the reverse side of the one-to-one points at the new row


def test_bad_input_gets_the_models_own_errors():
    with pytest.raises(TypeError, match="unexpected keyword"):
        new_row(OutboxEvent, event_type="x", colour="blue")
    with pytest.raises(ValueError, match='"StockMove.stock_item" must be a "StockItem" instance'):
        new_row(StockMove, stock_item=product, kind="reserve")


def test_a_model_with_init_receivers_is_built_by_the_model(monkeypatch):
    seen = []

    def receiver(sender, **kwargs):
        seen.append(sender)

    signals.post_init.connect(receiver, sender=OutboxEvent)
    _row_plan.cache_clear()
    try:
        new_row(OutboxEvent, event_type="x", payload={})
    finally:
        signals.post_init.disconnect(receiver, sender=OutboxEvent)
        _row_plan.cache_clear()
    assert seen == [OutboxEvent]
