import datetime
import threading
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Sum
from django.utils import timezone

from fulfilment import services
from fulfilment.models import LineAllocation, PickList, PickListStatus, ReleaseDelay, StockItem, StockMove
from o2c.common.exceptions import ApplicationError
from o2c.common.models import AuditEntry
from orders import services as order_services
from orders.migrations import _seed
from orders.models import Order, OrderStatus
from orders.services import LineInput
from tests.factories import CustomerFactory, ProductFactory, vat_category


def order_for(product, quantity="1", customer=None, submit=True, **kwargs):
    customer = customer or CustomerFactory(credit_limit=Decimal("10000000"))
    return order_services.order_create(
        customer=customer,
        actor=None,
        submit=submit,
        **kwargs,
        lines=[LineInput(sku=product.sku, quantity=Decimal(quantity))],
    )


@pytest.fixture
def pump(db):
    product = ProductFactory(sku="PUMP")
    services.stock_receive(product=product, quantity=Decimal(10), actor=None, reference="PO-1")
    return product


def stock(product):
    return StockItem.objects.get(product=product)


def test_confirmation_reserves_and_backorders_what_is_missing(pump):
    first = order_for(pump, "7")
    second = order_for(pump, "5")
    assert (stock(pump).on_hand, stock(pump).reserved) == (Decimal(10), Decimal(10))
    assert LineAllocation.objects.get(order_line__order=first).reserved == Decimal(7)
    allocation = LineAllocation.objects.get(order_line__order=second)
    assert (allocation.reserved, allocation.backordered) == (Decimal(3), Decimal(2))
    kinds = list(StockMove.objects.filter(stock_item__product=pump).order_by("id").values_list("kind", flat=True))
    assert kinds == ["receipt", "reserve", "reserve"]


def test_receiving_stock_fills_backorders_oldest_order_first(pump):
    order_for(pump, "10")
    older = order_for(pump, "3")
    newer = order_for(pump, "3")
    services.stock_receive(product=pump, quantity=Decimal(4), actor=None)
    assert LineAllocation.objects.get(order_line__order=older).reserved == Decimal(3)
    newer_allocation = LineAllocation.objects.get(order_line__order=newer)
    assert (newer_allocation.reserved, newer_allocation.backordered) == (Decimal(1), Decimal(2))
    assert stock(pump).reserved == Decimal(14)


def test_cancelling_gives_stock_to_the_next_backorder(pump):
    first = order_for(pump, "10")
    waiting = order_for(pump, "4")
    order_services.order_cancel(order=first, reason="Changed mind", actor=None)
    assert LineAllocation.objects.get(order_line__order=waiting).reserved == Decimal(4)
    assert LineAllocation.objects.get(order_line__order=first).reserved == Decimal(0)
    assert stock(pump).reserved == Decimal(4)


def test_a_count_below_the_reservations_turns_the_newest_into_backorders(pump):
    older = order_for(pump, "6")
    newer = order_for(pump, "4")
    services.stock_count(product=pump, counted=Decimal(7), actor=None, reference="WMS")
    assert LineAllocation.objects.get(order_line__order=older).reserved == Decimal(6)
    newer_allocation = LineAllocation.objects.get(order_line__order=newer)
    assert (newer_allocation.reserved, newer_allocation.backordered) == (Decimal(1), Decimal(3))
    assert (stock(pump).on_hand, stock(pump).reserved) == (Decimal(7), Decimal(7))


def test_the_database_refuses_overselling_and_rewriting_the_ledger(pump):
    with pytest.raises(DatabaseError), transaction.atomic():
        StockItem.objects.filter(product=pump).update(reserved=Decimal(11))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE fulfilment_stockmove SET note = 'x'")


def test_release_waits_for_the_delay_then_makes_a_pick_list(pump):
    confirmed_at = timezone.now()
    order = order_for(pump, "2")
    assert order.status == OrderStatus.AWAITING_RELEASE
    assert abs((order.release_at - confirmed_at) - datetime.timedelta(minutes=30)) < datetime.timedelta(seconds=5)
    assert services.orders_release_due(now=confirmed_at + datetime.timedelta(minutes=29)) == []
    released = services.orders_release_due(now=confirmed_at + datetime.timedelta(minutes=31))
    assert released == [order.pk]
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED
    pick_list = PickList.objects.get(order=order)
    assert [(line.quantity, line.bin_location) for line in pick_list.lines.all()] == [(Decimal(2), "")]
    assert AuditEntry.objects.filter(object_id=str(order.pk), changes__status=["awaiting_release", "released"]).exists()


def test_delay_per_channel_and_per_customer_and_zero(pump):
    ReleaseDelay.objects.update_or_create(channel="b2b_portal", defaults={"minutes": 0})
    now = timezone.now()
    b2b = order_for(pump, "1", channel="b2b_portal")
    assert b2b.release_at - now < datetime.timedelta(seconds=5)
    patient = CustomerFactory(credit_limit=Decimal("100000"), release_delay_minutes=120)
    later = order_for(pump, "1", customer=patient, channel="b2b_portal")
    assert later.release_at - now > datetime.timedelta(minutes=119)


def test_open_holds_and_ship_complete_orders_wait_and_blocked_customers_go_to_credit_hold(pump):
    held = order_for(pump, "1")
    order_services.order_hold_add(order=held, reason="Wait for the customer", actor=None)
    blocked_customer = CustomerFactory(credit_limit=Decimal("100000"))
    blocked = order_for(pump, "1", customer=blocked_customer)
    order_services.customer_block(customer=blocked_customer, reason="Overdue", actor=None)
    complete = order_for(pump, "20", ship_complete=True)  # only 8 left: must wait for all 20
    partial = order_for(ProductFactory(sku="OUT"), "1")  # nothing in stock: nothing to pick
    later = timezone.now() + datetime.timedelta(hours=1)
    assert services.orders_release_due(now=later) == []
    for order in (held, complete, partial):
        order.refresh_from_db()
        assert order.status == OrderStatus.AWAITING_RELEASE
    blocked.refresh_from_db()
    assert blocked.status == OrderStatus.CREDIT_HOLD  # tests/fulfilment/test_release_credit.py has the rest
    services.stock_receive(product=pump, quantity=Decimal(12), actor=None)
    assert services.orders_release_due(now=later) == [complete.pk]


def test_services_only_orders_release_without_stock(db):
    service = ProductFactory(sku="INSTALL", kind="service")
    order = order_for(service, "3")
    assert not LineAllocation.objects.filter(order_line__order=order).exists()
    released = services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=1))
    assert released == [order.pk]


def test_a_manager_moves_the_release(pump):
    from tests.factories import user_with_role

    order = order_for(pump, "1")
    with pytest.raises(ApplicationError):
        order_services.order_reschedule_release(
            order=order, release_at=timezone.now(), reason="x", actor=user_with_role("sales")
        )
    order_services.order_reschedule_release(
        order=order, release_at=timezone.now(), reason="Customer waiting", actor=user_with_role("manager")
    )
    assert services.orders_release_due() == [order.pk]


# Concurrency on PostgreSQL ------------------------------------------------------------------------


def run_concurrently(functions, timeout=120):
    barrier = threading.Barrier(len(functions))
    outcomes = [None] * len(functions)

    def run(index, function):
        try:
            barrier.wait()
            outcomes[index] = ("ok", function())
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            outcomes[index] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes


@pytest.fixture
def flushed_seed(transactional_db):
    _seed.vat()


@pytest.mark.postgres
def test_50_concurrent_confirmations_for_10_units_reserve_exactly_10(flushed_seed):
    product = ProductFactory(sku="SCARCE", vat_category=vat_category("standard"))
    services.stock_receive(product=product, quantity=Decimal(10), actor=None)
    drafts = [order_for(product, "1", submit=False) for _ in range(50)]
    outcomes = run_concurrently([lambda o=o: order_services.order_submit(order=o, actor=None) for o in drafts])
    assert [kind for kind, _ in outcomes].count("ok") == 50, [o for o in outcomes if o[0] == "error"][:3]
    item = StockItem.objects.get(product=product)
    assert (item.on_hand, item.reserved) == (Decimal(10), Decimal(10))
    totals = LineAllocation.objects.filter(stock_item=item).aggregate(r=Sum("reserved"), b=Sum("backordered"))
    assert (totals["r"], totals["b"]) == (Decimal(10), Decimal(40))
    assert LineAllocation.objects.filter(stock_item=item, reserved=1).count() == 10
    assert StockMove.objects.filter(stock_item=item, kind="reserve").count() == 10


@pytest.mark.postgres
def test_a_concurrent_cancel_and_release_end_in_one_consistent_outcome(flushed_seed):
    product = ProductFactory(sku="RACE", vat_category=vat_category("standard"))
    services.stock_receive(product=product, quantity=Decimal(100), actor=None)
    later = timezone.now() + datetime.timedelta(hours=1)
    results = set()
    for _ in range(8):
        order = order_for(product, "2")
        outcomes = run_concurrently(
            [
                lambda o=order: order_services.order_cancel(order=o, reason="Race", actor=None),
                lambda: services.orders_release_due(now=later),
            ]
        )
        order.refresh_from_db()
        allocation = LineAllocation.objects.get(order_line__order=order)
        # Either the cancel came first (the sweep skipped the locked order and never saw it again),
        # or the release came first and the cancel withdrew its untouched pick list. Never both a
        # live pick list and a cancelled order, never a reservation left behind.
        assert outcomes[0][0] == "ok", outcomes[0]
        assert order.status == OrderStatus.CANCELLED
        assert allocation.reserved == 0
        assert not PickList.objects.filter(order=order).exclude(status=PickListStatus.CANCELLED).exists()
        released_first = PickList.objects.filter(order=order).exists()
        results.add(released_first)
    item = StockItem.objects.get(product=product)
    assert item.reserved == LineAllocation.objects.filter(stock_item=item).aggregate(r=Sum("reserved"))["r"]


@pytest.mark.postgres
def test_two_sweeps_at_once_release_each_order_once(flushed_seed):
    product = ProductFactory(sku="MANY", vat_category=vat_category("standard"))
    services.stock_receive(product=product, quantity=Decimal(1000), actor=None)
    customer = CustomerFactory(credit_limit=Decimal("100000000"))
    orders = [order_for(product, "1", customer=customer) for _ in range(120)]
    later = timezone.now() + datetime.timedelta(hours=1)

    def sweep():
        released = 0
        while batch := services.orders_release_due(now=later, batch=10):
            released += len(batch)
        return released

    outcomes = run_concurrently([sweep, sweep])
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert sum(count for _, count in outcomes) == 120
    assert Order.objects.filter(pk__in=[o.pk for o in orders], status=OrderStatus.RELEASED).count() == 120
    assert PickList.objects.filter(order__in=orders).count() == 120
    assert AuditEntry.objects.filter(changes__status=["awaiting_release", "released"]).count() == 120


def test_an_order_waiting_for_stock_gets_its_release_time_when_stock_arrives(db):
    product = ProductFactory(sku="LATE")
    order = order_for(product, "2")
    assert order.release_at is None and order.release_earliest is not None
    services.stock_receive(product=product, quantity=Decimal(2), actor=None)
    order.refresh_from_db()
    assert order.release_at == order.release_earliest
    services.stock_count(product=product, counted=Decimal(0), actor=None)
    order.refresh_from_db()
    assert order.release_at is None
