"""The warehouse's stock pages (levels, ledger, receiving, counting) and the release pages."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfilment import services
from fulfilment.models import LineAllocation, ReleaseDelay, StockItem, StockMove
from o2c.common.models import AuditEntry
from orders import services as order_services
from orders.models import Order, OrderStatus
from orders.services import LineInput
from tests.factories import CustomerFactory, ProductFactory, user_with_role

STOCK = "/warehouse/stock/"
RELEASE = "/warehouse/release/"
DELAYS = "/warehouse/release/delays/"


def order_for(product, quantity="1", customer=None, **kwargs) -> Order:
    customer = customer or CustomerFactory(credit_limit=Decimal("10000000"))
    return order_services.order_create(
        customer=customer,
        actor=None,
        submit=True,
        lines=[LineInput(sku=product.sku, quantity=Decimal(quantity))],
        **kwargs,
    )


def receive(product, quantity, bin_location=None) -> StockItem:
    item = services.stock_receive(product=product, quantity=Decimal(quantity), actor=None, reference="PO-1")
    if bin_location:
        services.stock_count(product=product, counted=item.on_hand, actor=None, bin_location=bin_location)
    return StockItem.objects.get(pk=item.pk)


def html(response) -> str:
    return response.content.decode()


def listed(client, **params) -> list[str]:
    response = client.get(STOCK, params)
    assert response.status_code == 200
    return [item.product.sku for item in response.context["rows"]]


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def moves() -> int:
    return StockMove.objects.count()


@pytest.fixture
def warehouse_client(client, db):
    client.force_login(user_with_role("warehouse", "wilma"))
    return client


@pytest.fixture
def manager_client(client, db):
    client.force_login(user_with_role("manager", "maja"))
    return client


@pytest.fixture
def sales_client(client, db):
    client.force_login(user_with_role("sales", "anna"))
    return client


@pytest.fixture
def shelf(db):
    """PUMP all reserved, FILTER plenty in C-01-1, VALVE short (an order waits for one)."""
    pump = ProductFactory(sku="PUMP", name="Värmepump")
    filter_ = ProductFactory(sku="FILTER", name="Filter standard")
    valve = ProductFactory(sku="VALVE", name="Ventil")
    receive(pump, "2", "A-01-1")
    receive(filter_, "50", "C-01-1")
    receive(valve, "1", "C-03-2")
    order_for(pump, "2")
    waiting = order_for(valve, "2")
    return {"pump": pump, "filter": filter_, "valve": valve, "waiting": waiting}


# The stock list ----------------------------------------------------------------------------------


def test_stock_list_shows_balances_available_and_backordered(warehouse_client, shelf):
    response = warehouse_client.get(STOCK)
    rows = {item.product.sku: item for item in response.context["rows"]}
    assert (rows["PUMP"].on_hand, rows["PUMP"].reserved, rows["PUMP"].available_quantity) == (2, 2, 0)
    assert (rows["VALVE"].available_quantity, rows["VALVE"].backordered_quantity) == (0, 1)
    assert (rows["FILTER"].available_quantity, rows["FILTER"].backordered_quantity) == (50, 0)
    assert "Värmepump" in html(response) and "C-01-1" in html(response)


def test_stock_list_searches_filters_and_sorts(warehouse_client, shelf):
    assert listed(warehouse_client, q="pump") == ["PUMP"]
    assert listed(warehouse_client, q="standard") == ["FILTER"]
    assert listed(warehouse_client, nothing_available="true") == ["PUMP", "VALVE"]
    assert listed(warehouse_client, nothing_available="false") == ["FILTER"]
    assert listed(warehouse_client, has_backorders="true") == ["VALVE"]
    assert listed(warehouse_client, bin="c-0") == ["FILTER", "VALVE"]
    assert listed(warehouse_client) == ["FILTER", "PUMP", "VALVE"]
    assert listed(warehouse_client, sort="-on_hand") == ["FILTER", "PUMP", "VALVE"]
    assert listed(warehouse_client, sort="available") == ["PUMP", "VALVE", "FILTER"]
    assert listed(warehouse_client, sort="-backordered")[0] == "VALVE"
    assert listed(warehouse_client, sort="bin") == ["PUMP", "FILTER", "VALVE"]
    assert listed(warehouse_client, sort="-reserved")[:2] == ["PUMP", "VALVE"]
    assert listed(warehouse_client, sort="not-a-column") == ["FILTER", "PUMP", "VALVE"]


def test_stock_list_paginates(warehouse_client, db):
    for index in range(27):
        receive(ProductFactory(sku=f"P-{index:02d}"), "1")
    first = warehouse_client.get(STOCK)
    assert len(first.context["rows"]) == 25 and "Page 1 of 2" in html(first)
    assert [item.product.sku for item in warehouse_client.get(STOCK, {"page": 2}).context["rows"]] == [
        "P-25",
        "P-26",
    ]


def test_stock_list_queries_do_not_grow_with_rows(warehouse_client, shelf):
    few = count_queries(warehouse_client, STOCK)
    for index in range(15):
        product = ProductFactory(sku=f"MORE-{index}")
        receive(product, "3", f"D-{index}")
        order_for(product, "4")
    assert count_queries(warehouse_client, STOCK) == few


def test_sales_sees_stock_but_gets_no_receive_or_count_forms(sales_client, shelf):
    item = StockItem.objects.get(product=shelf["pump"])
    assert sales_client.get(STOCK).status_code == 200
    page = html(sales_client.get(f"{STOCK}{item.pk}/"))
    assert 'data-testid="receive-form"' not in page and 'data-testid="count-form"' not in page
    before = moves()
    assert sales_client.post(f"{STOCK}{item.pk}/receive/", {"receive-quantity": "5"}).status_code == 403
    assert sales_client.post(f"{STOCK}{item.pk}/count/", {"count-counted": "0"}).status_code == 403
    assert sales_client.post(f"{STOCK}receive/", {"sku": "PUMP", "quantity": "1"}).status_code == 403
    assert moves() == before


def test_the_menu_has_stock_for_the_warehouse(warehouse_client):
    assert f'href="{STOCK}"' in html(warehouse_client.get("/"))


# The stock item page -----------------------------------------------------------------------------


def test_item_page_shows_the_ledger_newest_first_and_the_orders_holding_it(warehouse_client, shelf):
    item = StockItem.objects.get(product=shelf["valve"])
    response = warehouse_client.get(f"{STOCK}{item.pk}/")
    ledger = list(response.context["page_obj"].object_list)
    assert [move.kind for move in ledger] == ["reserve", "receipt"]
    assert ledger[0].order_line.order == shelf["waiting"]
    (allocation,) = response.context["allocations"]
    assert allocation.order_line.order == shelf["waiting"]
    assert (allocation.reserved, allocation.backordered) == (1, 1)
    assert f'href="/orders/{shelf["waiting"].pk}/"' in html(response)


def test_ledger_paginates_and_item_page_queries_do_not_grow(warehouse_client, shelf):
    item = StockItem.objects.get(product=shelf["filter"])
    path = f"{STOCK}{item.pk}/"
    few = count_queries(warehouse_client, path)
    for _ in range(30):
        order_for(shelf["filter"], "1")
    for _ in range(25):
        services.stock_receive(product=shelf["filter"], quantity=Decimal(1), actor=None)
    assert count_queries(warehouse_client, path) == few
    page = warehouse_client.get(path).context["page_obj"]
    assert page.paginator.count == 56 and len(page.object_list) == 50
    assert page.object_list[0].kind == "receipt" and page.object_list[0].on_hand_after == Decimal(75)
    assert len(warehouse_client.get(path, {"page": 2}).context["page_obj"].object_list) == 6


def test_receiving_goods_adds_to_on_hand_and_fills_the_backorder(warehouse_client, shelf):
    item = StockItem.objects.get(product=shelf["valve"])
    response = warehouse_client.post(
        f"{STOCK}{item.pk}/receive/", {"receive-quantity": "3", "receive-reference": "PO-77"}, follow=True
    )
    assert "Goods received." in html(response)
    item.refresh_from_db()
    assert (item.on_hand, item.reserved) == (Decimal(4), Decimal(2))
    receipt = StockMove.objects.filter(stock_item=item, kind="receipt").latest("id")
    assert (receipt.on_hand_change, receipt.reference, receipt.actor.username) == (Decimal(3), "PO-77", "wilma")
    assert LineAllocation.objects.get(order_line__order=shelf["waiting"]).backordered == 0


@pytest.mark.parametrize(
    ("quantity", "message"),
    [("0", "Receive a quantity above 0."), ("-2", "Receive a quantity above 0."), ("abc", "Enter a number.")],
)
def test_a_bad_receipt_is_a_field_error_and_saves_nothing(warehouse_client, shelf, quantity, message):
    item = StockItem.objects.get(product=shelf["valve"])
    before = moves()
    response = warehouse_client.post(f"{STOCK}{item.pk}/receive/", {"receive-quantity": quantity})
    assert response.status_code == 400
    assert response.context["receive_form"].errors["quantity"] == [message]
    assert f'data-field="quantity">{message}' in html(response)
    assert moves() == before
    item.refresh_from_db()
    assert item.on_hand == Decimal(1)


def test_a_count_below_reservations_turns_the_newest_into_backorders_and_moves_the_bin(warehouse_client, shelf):
    pump = shelf["pump"]
    receive(pump, "3")  # 5 on hand, 2 reserved by the first order
    newer = order_for(pump, "3")
    item = StockItem.objects.get(product=pump)
    response = warehouse_client.post(
        f"{STOCK}{item.pk}/count/",
        {"count-counted": "3", "count-bin_location": "B-09-9", "count-reference": "Stock take"},
        follow=True,
    )
    assert "Count recorded." in html(response)
    item.refresh_from_db()
    assert (item.on_hand, item.reserved, item.bin_location) == (Decimal(3), Decimal(3), "B-09-9")
    allocation = LineAllocation.objects.get(order_line__order=newer)
    assert (allocation.reserved, allocation.backordered) == (Decimal(1), Decimal(2))
    newer.refresh_from_db()
    assert newer.release_at is not None  # something reserved: it still goes to picking
    count = StockMove.objects.filter(stock_item=item, kind="count").latest("id")
    assert (count.on_hand_change, count.reference) == (Decimal(-2), "Stock take")


def test_a_count_with_an_empty_bin_keeps_the_bin(warehouse_client, shelf):
    item = StockItem.objects.get(product=shelf["filter"])
    warehouse_client.post(f"{STOCK}{item.pk}/count/", {"count-counted": "48", "count-bin_location": ""})
    item.refresh_from_db()
    assert (item.on_hand, item.bin_location) == (Decimal(48), "C-01-1")


def test_a_negative_count_is_a_field_error_and_saves_nothing(warehouse_client, shelf):
    item = StockItem.objects.get(product=shelf["filter"])
    before = moves()
    response = warehouse_client.post(f"{STOCK}{item.pk}/count/", {"count-counted": "-1", "count-bin_location": "X"})
    assert response.status_code == 400
    assert response.context["count_form"].errors["counted"] == ["A count cannot be negative."]
    assert moves() == before
    item.refresh_from_db()
    assert (item.on_hand, item.bin_location) == (Decimal(50), "C-01-1")


def test_receiving_a_new_product_by_sku_creates_its_stock(warehouse_client, db):
    ProductFactory(sku="NEW-1")
    response = warehouse_client.post(f"{STOCK}receive/", {"sku": "NEW-1", "quantity": "12", "reference": "PO-9"})
    item = StockItem.objects.get(product__sku="NEW-1")
    assert response.status_code == 302 and response["Location"] == f"{STOCK}{item.pk}/"
    assert item.on_hand == Decimal(12)


def test_receiving_an_unknown_sku_or_a_service_is_refused(warehouse_client, db):
    ProductFactory(sku="INSTALL", kind="service")
    unknown = warehouse_client.post(f"{STOCK}receive/", {"sku": "NOPE", "quantity": "1"})
    assert unknown.status_code == 400
    assert unknown.context["form"].errors["sku"] == ["No product with SKU 'NOPE'."]
    service = warehouse_client.post(f"{STOCK}receive/", {"sku": "INSTALL", "quantity": "1"})
    assert service.status_code == 400
    assert "INSTALL is a service; it has no stock." in service.context["form"].non_field_errors()[0]
    assert not StockItem.objects.exists() and moves() == 0


# The release list --------------------------------------------------------------------------------


@pytest.fixture
def waiting(shelf):
    """Three orders waiting: one scheduled, one short of stock, one held."""
    scheduled = order_for(shelf["filter"], "1", channel="webshop", external_reference="WS-1")
    short = order_for(ProductFactory(sku="NONE"), "1")
    held = order_for(shelf["filter"], "1")
    order_services.order_hold_add(order=held, reason="Customer calls back", actor=None)
    return {"scheduled": scheduled, "short": short, "held": held}


def state_of(page: str, order: Order) -> str:
    start = page.index(f'data-order="{order.number}"')
    cell = page.index('data-testid="release-state">', start)
    return " ".join(page[cell : page.index("</td>", cell)].split())


def test_release_list_says_when_each_order_goes_or_what_it_waits_for(sales_client, waiting):
    response = sales_client.get(RELEASE)
    page = html(response)
    assert "in 29 minutes" in state_of(page, waiting["scheduled"])
    assert "waiting for stock" in state_of(page, waiting["short"])
    assert "held: Customer calls back" in state_of(page, waiting["held"])
    assert "Web shop" in page and "WS-1" in page
    assert 'data-testid="reschedule-form"' not in page  # sales may not move releases


def test_release_list_filters_and_searches(manager_client, waiting):
    def numbers(**params):
        return [order.number for order in manager_client.get(RELEASE, params).context["rows"]]

    assert numbers(waiting="stock") == [waiting["short"].number]
    assert numbers(waiting="held") == [waiting["held"].number]
    scheduled = numbers(waiting="scheduled")
    assert waiting["scheduled"].number in scheduled
    assert waiting["short"].number not in scheduled and waiting["held"].number not in scheduled
    assert numbers(channel="webshop") == [waiting["scheduled"].number]
    assert numbers(q="WS-1") == [waiting["scheduled"].number]
    assert numbers(q=str(waiting["held"].number)) == [waiting["held"].number]
    # Soonest first; orders waiting for stock (no time yet) last.
    assert numbers()[-1] == waiting["short"].number


def test_release_list_queries_do_not_grow_with_rows(manager_client, waiting, shelf):
    few = count_queries(manager_client, RELEASE)
    for index in range(10):
        order = order_for(shelf["filter"], "1", customer=CustomerFactory(credit_limit=Decimal("10000000")))
        order_services.order_hold_add(order=order, reason=f"Hold {index}", actor=None)
        order_for(ProductFactory(sku=f"GONE-{index}"), "1")
    assert count_queries(manager_client, RELEASE) == few


def test_manager_releases_an_order_now_with_a_reason(manager_client, waiting):
    order = waiting["scheduled"]
    response = manager_client.post(
        f"{RELEASE}{order.pk}/", {"action": "now", "reason": "Customer collects today", "next": f"{RELEASE}?page=1"}
    )
    assert response.status_code == 302 and response["Location"] == f"{RELEASE}?page=1"
    order.refresh_from_db()
    assert abs(order.release_at - timezone.now()) < datetime.timedelta(seconds=10)
    assert order.release_earliest == order.release_at
    entry = AuditEntry.objects.filter(object_id=str(order.pk), note="Customer collects today").get()
    assert entry.actor.username == "maja" and "release_at" in entry.changes
    # The next sweep takes it.
    assert services.orders_release_due(now=timezone.now() + datetime.timedelta(seconds=1)) == [order.pk]


def test_manager_postpones_an_order(manager_client, waiting):
    order = waiting["scheduled"]
    later = timezone.localtime() + datetime.timedelta(days=2)
    response = manager_client.post(
        f"{RELEASE}{order.pk}/",
        {"action": "postpone", "release_at": later.strftime("%Y-%m-%dT%H:%M"), "reason": "Delivery next week"},
        follow=True,
    )
    assert f"Order {order.number} is postponed to" in html(response)
    order.refresh_from_db()
    assert order.release_at == later.replace(second=0, microsecond=0)


def test_an_order_waiting_for_stock_keeps_waiting_when_released_now(manager_client, waiting):
    order = waiting["short"]
    response = manager_client.post(f"{RELEASE}{order.pk}/", {"action": "now", "reason": "Rush"}, follow=True)
    assert "still waits for stock" in html(response)
    order.refresh_from_db()
    assert order.release_at is None and order.release_earliest is not None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"action": "now", "reason": ""}, "reason", "Say why the release time changes."),
        ({"action": "postpone", "reason": "Later", "release_at": ""}, "release_at", "Say when"),
        ({"action": "postpone", "reason": "Later", "release_at": "2020-01-01T10:00"}, "release_at", "in the future"),
    ],
)
def test_a_bad_reschedule_is_a_field_error_and_changes_nothing(manager_client, waiting, data, field, message):
    order = waiting["scheduled"]
    response = manager_client.post(f"{RELEASE}{order.pk}/", data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert Order.objects.get(pk=order.pk).release_at == order.release_at


def test_a_released_order_cannot_be_moved(manager_client, waiting):
    order = waiting["scheduled"]
    Order.objects.filter(pk=order.pk).update(release_at=timezone.now())
    services.orders_release_due(now=timezone.now())
    response = manager_client.post(f"{RELEASE}{order.pk}/", {"action": "now", "reason": "Rush"})
    assert response.status_code == 400
    assert "is not waiting for release" in html(response)


def test_sales_may_not_move_a_release(sales_client, waiting):
    order = waiting["scheduled"]
    assert sales_client.post(f"{RELEASE}{order.pk}/", {"action": "now", "reason": "Please"}).status_code == 403
    assert sales_client.get(f"{RELEASE}{order.pk}/").status_code == 403
    assert Order.objects.get(pk=order.pk).release_at == order.release_at


# Release delays ----------------------------------------------------------------------------------


def test_manager_sets_a_channels_release_delay_and_it_is_audited(manager_client, db):
    response = manager_client.post(DELAYS, {"channel": "webshop", "minutes": "10"}, follow=True)
    assert "Release delay saved." in html(response)
    assert ReleaseDelay.objects.get(channel="webshop").minutes == 10
    manager_client.post(DELAYS, {"channel": "webshop", "minutes": "0"})
    assert ReleaseDelay.objects.get(channel="webshop").minutes == 0
    entries = AuditEntry.objects.filter(object_repr__startswith="webshop").order_by("id")
    assert [entry.changes["minutes"] for entry in entries] == [[30, 10], [10, 0]]  # 30: seeded by migration
    assert {entry.actor.username for entry in entries} == {"maja"}
    rows = {row["channel"]: row["minutes"] for row in manager_client.get(DELAYS).context["rows"]}
    assert rows["webshop"] == 0 and rows["b2b_portal"] == 0 and rows["manual"] == 30


def test_a_channel_without_a_delay_gets_one(manager_client, db):
    ReleaseDelay.objects.filter(channel="api").delete()
    assert "30 (default)" in html(manager_client.get(DELAYS))
    manager_client.post(DELAYS, {"channel": "api", "minutes": "5"})
    assert ReleaseDelay.objects.get(channel="api").minutes == 5
    (entry,) = AuditEntry.objects.filter(object_repr__startswith="api")
    assert (entry.action, entry.changes["minutes"]) == ("create", [None, 5])


def test_a_new_delay_applies_to_orders_confirmed_afterwards(manager_client, shelf):
    manager_client.post(DELAYS, {"channel": "marketplace", "minutes": "120"})
    order = order_for(shelf["filter"], "1", channel="marketplace")
    assert order.release_at - timezone.now() > datetime.timedelta(minutes=119)


def test_a_bad_delay_is_a_field_error(manager_client, db):
    response = manager_client.post(DELAYS, {"channel": "webshop", "minutes": "-5"})
    assert response.status_code == 400
    assert 'data-field="minutes"' in html(response)
    too_long = manager_client.post(DELAYS, {"channel": "webshop", "minutes": "20000"})
    assert too_long.status_code == 400 and "A delay is 0 to 10080 minutes." in html(too_long)
    assert ReleaseDelay.objects.get(channel="webshop").minutes == 30


def test_sales_sees_delays_but_may_not_change_them(sales_client, db):
    page = sales_client.get(DELAYS)
    assert page.status_code == 200 and 'data-channel="webshop"' in html(page)
    assert 'name="minutes"' not in html(page)
    assert sales_client.post(DELAYS, {"channel": "webshop", "minutes": "1"}).status_code == 403
    assert ReleaseDelay.objects.get(channel="webshop").minutes == 30


def test_release_pages_need_a_login(client, db):
    for path in (RELEASE, DELAYS, STOCK):
        assert client.get(path).status_code == 302


def test_order_statuses_stay_waiting_on_the_release_list(sales_client, waiting):
    statuses = {order.status for order in sales_client.get(RELEASE).context["rows"]}
    assert statuses == {OrderStatus.AWAITING_RELEASE}
