"""An event's payload is stored as the JSON the API would send: the flat fast path and the JSON
round trip give the same."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from o2c.outbox.services import _jsonable
from orders.models import OrderStatus


def round_trip(payload: dict) -> dict:
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


@pytest.mark.parametrize(
    "payload",
    [
        {"id": 41, "number": 1041, "status": OrderStatus.CONFIRMED, "customer_name": "Kund AB", "note": ""},
        {"net_amount": Decimal("20886.00"), "vat": Decimal("0.10"), "big": Decimal("1E+3"), "rep": None},
        {"ship_complete": False, "count": 0, "reason": "Credit limit exceeded"},
        {"at": datetime.datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=datetime.UTC), "id": 1},
        {"on": datetime.date(2026, 11, 24), "share": 0.25},
        {"lines": [{"sku": "HP-8", "quantity": Decimal("1.5")}], "id": 2},
        {},
    ],
)
def test_the_payload_is_what_the_json_round_trip_gives(payload):
    flat = _jsonable(payload)
    assert flat == round_trip(payload)
    assert [type(v) for v in flat.values()] == [type(v) for v in round_trip(payload).values()]
