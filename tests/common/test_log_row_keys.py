"""Which foreign keys the database checks (docs/architecture.md, "No constraint checks on log
rows"): the acting user and record type of log rows are not checked there, business references are."""

import pytest
from django.db import connection

from fulfilment.models import LineAllocation, StockMove
from o2c.common.models import AuditEntry, IdempotencyKey
from o2c.outbox.models import OutboxEvent
from orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db


def checked_columns(model) -> set[str]:
    """The columns of `model` that have a foreign-key constraint in the database."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {column for c in constraints.values() if c["foreign_key"] for column in c["columns"]}


@pytest.mark.parametrize(
    ("model", "unchecked"),
    [
        (AuditEntry, {"actor_id", "content_type_id"}),
        (OutboxEvent, {"actor_id"}),
        (StockMove, {"actor_id"}),
        (Order, {"created_by_id"}),
        (IdempotencyKey, {"client_id"}),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_the_acting_user_is_not_checked_by_the_database(model, unchecked):
    assert not unchecked & checked_columns(model)


@pytest.mark.parametrize(
    ("model", "checked"),
    [
        (Order, {"customer_id", "sales_rep_id"}),
        (OrderLine, {"order_id", "product_id", "vat_category_id"}),
        (LineAllocation, {"order_line_id", "stock_item_id"}),
        (StockMove, {"stock_item_id", "order_line_id"}),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_business_references_are(model, checked):
    assert checked <= checked_columns(model)
