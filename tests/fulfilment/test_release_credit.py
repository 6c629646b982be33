"""The credit check at pick release: credit has the last word before an order goes to picking."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from credit import services as credit_services
from credit.selectors import customers_refused_credit
from fulfilment import services
from fulfilment.models import PickList
from o2c.common.audit import audit_trail_for
from o2c.common.models import AuditAction
from o2c.outbox.models import OutboxEvent
from orders import services as order_services
from orders.models import OrderStatus
from orders.services import LineInput
from tests.factories import CustomerFactory, ProductFactory, user_with_role


@pytest.fixture
def pump(db):
    product = ProductFactory(sku="PUMP")
    services.stock_receive(product=product, quantity=Decimal(100), actor=None)
    return product


@pytest.fixture
def finance(db):
    return user_with_role("finance")


def order_for(product, customer, quantity="1"):
    order = order_services.order_create(
        customer=customer, actor=None, lines=[LineInput(sku=product.sku, quantity=Decimal(quantity))]
    )
    order.refresh_from_db()
    return order


def sweep():
    return services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=1))


def test_an_order_over_a_limit_lowered_after_confirmation_goes_to_credit_hold(pump, finance):
    lowered = CustomerFactory(number="77001", currency="SEK", credit_limit=Decimal("1000000"))
    over = order_for(pump, lowered, "2")
    others = order_for(pump, CustomerFactory(credit_limit=Decimal("1000000")))
    assert over.status == OrderStatus.AWAITING_RELEASE  # confirmed within the limit it had then
    order_services.customer_update(customer=lowered, credit_limit=Decimal("100.00"), actor=finance)

    assert sweep() == [others.pk]  # the other customer's order goes out in the same sweep

    over.refresh_from_db()
    assert over.status == OrderStatus.CREDIT_HOLD
    assert not PickList.objects.filter(order=over).exists()
    entry = audit_trail_for(over).filter(action=AuditAction.TRANSITION).first()
    assert entry.changes == {"status": ["awaiting_release", "credit_hold"]}
    assert entry.via == "release-sweep"
    assert entry.note == (
        f"Credit limit 100.00\u00a0SEK exceeded at release: open orders are {over.gross_amount:,.2f}\u00a0SEK."
    )
    assert OutboxEvent.objects.filter(event_type="order.credit_hold", aggregate_id=str(over.pk)).exists()


def test_a_blocked_customers_order_goes_to_credit_hold(pump, finance):
    customer = CustomerFactory(number="77002", credit_limit=Decimal("1000000"))
    blocked = order_for(pump, customer)
    others = order_for(pump, CustomerFactory(credit_limit=Decimal("1000000")))
    order_services.customer_block(customer=customer, reason="Unpaid invoices", actor=finance)

    assert sweep() == [others.pk]

    blocked.refresh_from_db()
    assert blocked.status == OrderStatus.CREDIT_HOLD
    entry = audit_trail_for(blocked).filter(action=AuditAction.TRANSITION).first()
    assert entry.note == "Customer 77002 is blocked."


def test_a_customer_within_its_limit_is_released_even_after_a_change(pump, finance):
    customer = CustomerFactory(credit_limit=Decimal("1000000"))
    order = order_for(pump, customer, "2")
    order_services.customer_update(customer=customer, credit_limit=order.gross_amount, actor=finance)  # just enough

    assert sweep() == [order.pk]
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED


def test_an_order_on_credit_hold_does_not_hold_back_the_customers_other_orders(pump, finance):
    customer = CustomerFactory(credit_limit=Decimal("1000000"))
    first = order_for(pump, customer)
    order_services.customer_update(customer=customer, credit_limit=first.gross_amount, actor=finance)
    second = order_for(pump, customer)  # over the limit now: credit holds it at once
    assert second.status == OrderStatus.CREDIT_HOLD

    assert sweep() == [first.pk]


def test_finance_letting_an_order_through_stands_at_release(pump, finance):
    customer = CustomerFactory(credit_limit=Decimal("1000000"))
    order = order_for(pump, customer)
    order_services.customer_update(customer=customer, credit_limit=Decimal("1.00"), actor=finance)
    assert sweep() == []
    order.refresh_from_db()
    assert order.status == OrderStatus.CREDIT_HOLD

    credit_services.credit_hold_release(order=order, note="Paid in advance", actor=finance)
    assert sweep() == [order.pk]  # not held a second time for what finance already decided

    second = order_for(pump, CustomerFactory(credit_limit=Decimal("1000000")))
    assert sweep() == [second.pk]


def test_the_check_is_one_query_for_any_number_of_customers(pump, finance):
    customers = [CustomerFactory(credit_limit=Decimal("1000000")) for _ in range(5)]
    for customer in customers:
        order_for(pump, customer)
    order_services.customer_update(customer=customers[0], credit_limit=Decimal("1.00"), actor=finance)
    order_services.customer_block(customer=customers[1], reason="Overdue", actor=finance)
    with CaptureQueriesContext(connection) as queries:
        refused = customers_refused_credit(customer_ids={c.pk for c in customers})
    assert len(queries) == 1
    assert set(refused) == {customers[0].pk, customers[1].pk}
    assert refused[customers[1].pk].blocked and not refused[customers[0].pk].blocked
