"""Pick, pack, ship, backorders, cancelling what cannot be had, and returns (fulfilment/services/shipping.py)."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.utils import timezone

from fulfilment import services
from fulfilment.models import (
    LineAllocation,
    LineCancellation,
    PickList,
    PickListStatus,
    ReturnStatus,
    Shipment,
    ShipmentStatus,
    StockItem,
    StockMove,
)
from fulfilment.selectors.shipping import pick_lists_batch
from fulfilment.services import shipping
from o2c.common.exceptions import ApplicationError
from o2c.common.models import AuditEntry
from o2c.common.roles import Role
from o2c.outbox.models import OutboxEvent
from orders import services as order_services
from orders.migrations import _seed
from orders.models import Order, OrderStatus
from orders.services import LineInput
from tests.factories import CustomerFactory, ProductFactory, user_with_role

TODAY = datetime.date(2026, 3, 2)


def order_for(*lines, customer=None, **kwargs) -> Order:
    """lines: (product, quantity) pairs; the order is confirmed and reserves what is there."""
    customer = customer or CustomerFactory(credit_limit=Decimal("10000000"))
    return order_services.order_create(
        customer=customer,
        actor=None,
        lines=[LineInput(sku=product.sku, quantity=Decimal(quantity)) for product, quantity in lines],
        **kwargs,
    )


def release(order: Order) -> PickList:
    services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=2))
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED
    return PickList.objects.get(order=order, status=PickListStatus.OPEN)


def stock(product) -> tuple[Decimal, Decimal]:
    item = StockItem.objects.get(product=product)
    return item.on_hand, item.reserved


def allocation(order, product) -> tuple[Decimal, Decimal, Decimal]:
    a = LineAllocation.objects.get(order_line__order=order, order_line__product=product)
    return a.reserved, a.backordered, a.shipped


def pick_all(pick_list, actor, **short) -> PickList:
    picked = {line.pk: short.get(line.order_line.product.sku, line.quantity) for line in pick_list.lines.all()}
    return shipping.pick_list_pick(pick_list=pick_list, picked=picked, actor=actor)


def ship(shipment, actor, tracking="JJSE0001") -> Shipment:
    return shipping.shipment_ship(
        shipment=shipment, carrier="PostNord", tracking_number=tracking, ship_date=TODAY, actor=actor
    )


@pytest.fixture
def worker(db):
    return user_with_role("warehouse")


@pytest.fixture
def goods(db):
    pump, filt = ProductFactory(sku="PUMP"), ProductFactory(sku="FILTER")
    services.stock_receive(product=pump, quantity=Decimal(5), actor=None)
    services.stock_receive(product=filt, quantity=Decimal(20), actor=None)
    services.stock_count(product=pump, counted=Decimal(5), actor=None, bin_location="B-02")
    services.stock_count(product=filt, counted=Decimal(20), actor=None, bin_location="A-01")
    return pump, filt


def test_pick_pack_ship_moves_stock_and_ships_the_order(goods, worker):
    pump, filt = goods
    order = order_for((pump, "2"), (filt, "6"))
    pick_list = release(order)
    assert [line.order_line.product.sku for line in pick_list.lines.all()] == ["FILTER", "PUMP"]  # by bin

    pick_all(pick_list, worker)
    shipment = shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal("4.5"), Decimal("12")], actor=worker)
    assert shipment.status == ShipmentStatus.PACKED
    assert sorted((line.order_line.product.sku, line.quantity) for line in shipment.lines.all()) == [
        ("FILTER", Decimal(6)),
        ("PUMP", Decimal(2)),
    ]
    assert [p.weight_kg for p in shipment.packages.all()] == [Decimal("4.5"), Decimal(12)]
    assert stock(pump) == (Decimal(5), Decimal(2))  # packing moves nothing

    ship(shipment, worker, tracking="JJSE123456789")

    shipment.refresh_from_db()
    pick_list.refresh_from_db()
    order.refresh_from_db()
    assert (shipment.status, shipment.tracking_number, shipment.ship_date) == ("shipped", "JJSE123456789", TODAY)
    assert pick_list.status == PickListStatus.SHIPPED
    assert order.status == OrderStatus.SHIPPED
    assert stock(pump) == (Decimal(3), Decimal(0))
    assert stock(filt) == (Decimal(14), Decimal(0))
    assert allocation(order, pump) == (Decimal(0), Decimal(0), Decimal(2))
    move = StockMove.objects.filter(stock_item__product=pump, kind="shipment").get()
    assert (move.on_hand_change, move.reserved_change, move.actor) == (Decimal(-2), Decimal(-2), worker)

    # Every step is audited and evented.
    events = list(
        OutboxEvent.objects.filter(aggregate_id=str(order.pk)).order_by("id").values_list("event_type", flat=True)
    )
    assert events[-4:] == ["pick_list.picked", "shipment.packed", "shipment.shipped", "order.shipped"]
    shipped_event = OutboxEvent.objects.get(event_type="shipment.shipped")
    assert shipped_event.payload["shipment"]["tracking_number"] == "JJSE123456789"
    assert shipped_event.payload["shipment"]["carrier"] == "PostNord"
    assert len(shipped_event.payload["shipment"]["packages"]) == 2
    assert shipped_event.payload["number"] == order.number
    pick_audits = AuditEntry.objects.filter(object_id=str(pick_list.pk), content_type__model="picklist")
    assert sorted(tuple(e.changes["status"]) for e in pick_audits) == [
        ("open", "picked"),
        ("packed", "shipped"),
        ("picked", "packed"),
    ]
    assert AuditEntry.objects.filter(
        content_type__model="shipment", object_id=str(shipment.pk), changes__status=["packed", "shipped"], actor=worker
    ).exists()
    assert AuditEntry.objects.filter(object_id=str(order.pk), changes__status=["released", "shipped"]).exists()


def test_a_backorder_ships_later_when_stock_arrives(goods, worker):
    pump, filt = goods
    order = order_for((pump, "8"), (filt, "1"))  # 5 pumps there, 3 backordered
    assert allocation(order, pump) == (Decimal(5), Decimal(3), Decimal(0))
    pick_list = release(order)
    pick_all(pick_list, worker)
    ship(shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal(30)], actor=worker), worker)

    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    assert allocation(order, pump) == (Decimal(0), Decimal(3), Decimal(5))
    assert stock(pump) == (Decimal(0), Decimal(0))
    assert not PickList.objects.filter(order=order, status=PickListStatus.OPEN).exists()  # nothing to pick yet

    services.stock_receive(product=pump, quantity=Decimal(4), actor=worker, reference="PO-9")

    assert allocation(order, pump) == (Decimal(3), Decimal(0), Decimal(5))
    backorder_list = PickList.objects.get(order=order, status=PickListStatus.OPEN)
    assert [(line.order_line.product.sku, line.quantity) for line in backorder_list.lines.all()] == [
        ("PUMP", Decimal(3))
    ]
    services.stock_receive(product=pump, quantity=Decimal(1), actor=worker)  # nothing new for the order
    assert PickList.objects.filter(order=order, status=PickListStatus.OPEN).count() == 1

    pick_all(backorder_list, worker)
    ship(shipping.pick_list_pack(pick_list=backorder_list, packages=[Decimal(20)], actor=worker), worker, "JJ2")
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert allocation(order, pump) == (Decimal(0), Decimal(0), Decimal(8))
    assert stock(pump) == (Decimal(2), Decimal(0))
    assert AuditEntry.objects.filter(object_id=str(order.pk), changes__status=["partially_shipped", "shipped"]).exists()


def test_a_short_pick_leaves_the_rest_reserved_for_a_new_pick_list(goods, worker):
    pump, _filt = goods
    order = order_for((pump, "4"))
    pick_list = release(order)
    pick_all(pick_list, worker, PUMP=Decimal(3))
    ship(shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal(9)], actor=worker), worker)
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    assert allocation(order, pump) == (Decimal(1), Decimal(0), Decimal(3))
    rest = PickList.objects.get(order=order, status=PickListStatus.OPEN)
    assert [line.quantity for line in rest.lines.all()] == [Decimal(1)]


def test_rules_say_no(goods, worker):
    pump, _filt = goods
    order = order_for((pump, "2"))
    pick_list = release(order)
    line = pick_list.lines.get()
    with pytest.raises(shipping.ValidationError):
        shipping.pick_list_pick(pick_list=pick_list, picked={line.pk: Decimal(3)}, actor=worker)
    with pytest.raises(shipping.ValidationError):
        shipping.pick_list_pick(pick_list=pick_list, picked={line.pk: Decimal(0)}, actor=worker)
    with pytest.raises(ApplicationError) as denied:
        shipping.pick_list_pick(pick_list=pick_list, picked={line.pk: Decimal(2)}, actor=user_with_role("sales"))
    assert denied.value.code == "permission_denied"
    with pytest.raises(ApplicationError):  # not picked yet
        shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal(1)], actor=worker)
    pick_all(pick_list, worker)
    with pytest.raises(shipping.ValidationError):
        shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal(0)], actor=worker)
    shipment = shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal(1)], actor=worker)
    with pytest.raises(shipping.ValidationError):
        shipping.shipment_ship(shipment=shipment, carrier="DHL", tracking_number=" ", ship_date=TODAY, actor=worker)
    ship(shipment, worker)
    with pytest.raises(ApplicationError) as twice:
        ship(shipment, worker)
    assert twice.value.code == "invalid_state"
    assert stock(pump) == (Decimal(3), Decimal(0))


def test_batch_picking_merges_lists_by_bin(goods, worker):
    pump, filt = goods
    first = order_for((pump, "1"), (filt, "2"))
    second = order_for((filt, "3"))
    services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=2))
    ids = list(PickList.objects.filter(order__in=[first, second]).values_list("pk", flat=True))
    stops = pick_lists_batch(pick_list_ids=ids)
    assert [(s.bin_location, s.sku, s.quantity) for s in stops] == [
        ("A-01", "FILTER", Decimal(5)),
        ("B-02", "PUMP", Decimal(1)),
    ]
    assert sorted(number for _id, number, _q in stops[0].for_lists) == sorted([first.number, second.number])


def test_cancelling_an_unavailable_backorder_ships_the_order_and_mails_the_customer(
    goods, worker, mailoutbox, django_capture_on_commit_callbacks
):
    pump, _filt = goods
    customer = CustomerFactory(credit_limit=Decimal("10000000"), invoice_email="faktura@kund.se", language="en")
    order = order_for((pump, "7"), customer=customer)
    pick_list = release(order)
    pick_all(pick_list, worker)
    ship(shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal(5)], actor=worker), worker)
    line = order.lines.get()

    with django_capture_on_commit_callbacks(execute=True):
        cancellation = shipping.order_line_cancel_unavailable(
            order_line=line, reason="Discontinued by the maker", actor=worker
        )

    assert cancellation.quantity == Decimal(2)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert allocation(order, pump) == (Decimal(0), Decimal(0), Decimal(5))
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["faktura@kund.se"]
    assert str(order.number) in mail.subject
    assert "Discontinued by the maker" in mail.body
    assert "2 pcs" in mail.body
    assert OutboxEvent.objects.filter(event_type="order.line_cancelled", aggregate_id=str(order.pk)).exists()


def test_cancelling_everything_of_a_waiting_order_cancels_it_and_frees_the_stock(
    goods, worker, mailoutbox, django_capture_on_commit_callbacks
):
    pump, _filt = goods
    hoarder = order_for((pump, "5"))
    customer = CustomerFactory(credit_limit=Decimal("10000000"), invoice_email="order@kund.se", language="sv")
    waiting = order_for((pump, "2"), customer=customer)  # all backordered: waits for stock
    assert waiting.status == OrderStatus.AWAITING_RELEASE
    with django_capture_on_commit_callbacks(execute=True):
        shipping.order_line_cancel_unavailable(order_line=waiting.lines.get(), reason="Slutsåld", actor=worker)
    waiting.refresh_from_db()
    assert waiting.status == OrderStatus.CANCELLED
    assert LineCancellation.objects.get(order_line__order=waiting).quantity == Decimal(2)
    assert [m.to for m in mailoutbox] == [["order@kund.se"]]
    assert "Slutsåld" in mailoutbox[0].body
    assert allocation(hoarder, pump) == (Decimal(5), Decimal(0), Decimal(0))


def test_no_mail_when_the_cancel_is_refused(goods, worker, mailoutbox, django_capture_on_commit_callbacks):
    pump, _filt = goods
    order = order_for((pump, "2"), customer=CustomerFactory(invoice_email="x@kund.se", credit_limit=Decimal(10**6)))
    pick_list = release(order)
    pick_all(pick_list, worker)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError):  # picked: ship first
        shipping.order_line_cancel_unavailable(order_line=order.lines.get(), reason="Gone", actor=worker)
    assert mailoutbox == []


def test_returns_restock_and_scrap(goods, worker):
    pump, filt = goods
    order = order_for((pump, "3"), (filt, "4"))
    pick_list = release(order)
    pick_all(pick_list, worker)
    ship(shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal(9)], actor=worker), worker)
    pump_line, filter_line = order.lines.order_by("position")
    with pytest.raises(shipping.ValidationError):  # more than shipped
        shipping.return_authorize(order=order, lines=[(pump_line, Decimal(4))], reason="Wrong model", actor=worker)

    rma = shipping.return_authorize(
        order=order, lines=[(pump_line, Decimal(2)), (filter_line, Decimal(4))], reason="Wrong model", actor=worker
    )
    assert rma.status == ReturnStatus.OPEN
    pump_return, filter_return = rma.lines.order_by("order_line__position")
    with pytest.raises(shipping.ValidationError):  # the rest of the pump line is already authorised
        shipping.return_authorize(order=order, lines=[(pump_line, Decimal(2))], reason="Again", actor=worker)

    shipping.return_receive(
        rma=rma,
        lines=[(pump_return, Decimal(1), Decimal(1)), (filter_return, Decimal(4), Decimal(0))],
        actor=worker,
    )

    rma.refresh_from_db()
    assert rma.status == ReturnStatus.RECEIVED
    assert stock(pump) == (Decimal(3), Decimal(0))  # 5 - 3 shipped + 1 back; the scrapped one is not
    assert stock(filt) == (Decimal(20), Decimal(0))
    pump_moves = StockMove.objects.filter(stock_item__product=pump, kind__in=["return", "scrap"]).order_by("id")
    assert [(m.kind, m.on_hand_change) for m in pump_moves] == [("return", Decimal(1)), ("scrap", Decimal(0))]
    pump_return.refresh_from_db()
    assert (pump_return.restock_quantity, pump_return.scrap_quantity) == (Decimal(1), Decimal(1))
    assert pump_return.received_at is not None
    event = OutboxEvent.objects.get(event_type="return.received")
    assert event.payload["rma"]["ready_for_credit_note"] is True
    assert [(line["sku"], line["restocked"], line["scrapped"]) for line in event.payload["rma"]["lines"]] == [
        ("PUMP", "1", "1"),
        ("FILTER", "4", "0"),
    ]
    with pytest.raises(ApplicationError):
        shipping.return_receive(rma=rma, lines=[(pump_return, Decimal(1), Decimal(0))], actor=worker)
    assert AuditEntry.objects.filter(content_type__model="returnauthorization", object_id=str(rma.pk)).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_shipments_of_the_same_stock_never_go_negative():
    """Two orders' shipments of the same product, and the same shipment twice, at once: the locks
    serialise them, one double ship fails, and on-hand and reserved end exactly where they should."""
    _seed.vat()  # transactional tests flush the rows data migrations made
    for role in Role:
        Group.objects.get_or_create(name=role.value)
    worker = user_with_role("warehouse")
    pump = ProductFactory(sku="PUMP")
    services.stock_receive(product=pump, quantity=Decimal(10), actor=None)
    first, second = order_for((pump, "6")), order_for((pump, "4"))
    services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=2))
    shipments = []
    for order in (first, second):
        pick_list = PickList.objects.get(order=order)
        pick_all(pick_list, worker)
        shipments.append(shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal(3)], actor=worker))

    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def run(shipment, tracking):
        try:
            barrier.wait()
            ship(shipment, worker, tracking)
            outcomes.append("shipped")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(shipments[0], "T1")),
        threading.Thread(target=run, args=(shipments[1], "T2")),
        threading.Thread(target=run, args=(shipments[0], "T3")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["invalid_state", "shipped", "shipped"]
    assert stock(pump) == (Decimal(0), Decimal(0))
    assert StockMove.objects.filter(stock_item__product=pump, kind="shipment").count() == 2
    for order in (first, second):
        order.refresh_from_db()
        assert order.status == OrderStatus.SHIPPED
