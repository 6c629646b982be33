"""The warehouse pages and the shipments API: roles, the queue, scanning, packing, shipping."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfilment import services
from fulfilment.models import PickList, PickListStatus, Shipment, StockItem
from fulfilment.services import shipping
from tests.factories import ProductFactory, user_with_role
from tests.fulfilment.test_shipping import TODAY, order_for, pick_all, release, ship


@pytest.fixture
def worker(db):
    return user_with_role("warehouse")


@pytest.fixture
def warehouse_client(client, worker):
    client.force_login(worker)
    return client


@pytest.fixture
def goods(db):
    pump, filt = ProductFactory(sku="PUMP"), ProductFactory(sku="FILTER")
    for product, bin_location in ((pump, "B-02"), (filt, "A-01")):
        services.stock_receive(product=product, quantity=Decimal(50), actor=None)
        services.stock_count(product=product, counted=Decimal(50), actor=None, bin_location=bin_location)
    return pump, filt


def shipped_order(goods, worker, tracking="JJSE1"):
    pump, filt = goods
    order = order_for((pump, "1"), (filt, "2"))
    pick_list = release(order)
    pick_all(pick_list, worker)
    return order, ship(
        shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal(2)], actor=worker), worker, tracking
    )


@pytest.mark.parametrize(("role", "status"), [("warehouse", 200), ("manager", 200), ("sales", 403), ("finance", 403)])
def test_only_the_warehouse_works_the_warehouse_pages(client, goods, role, status):
    order = order_for((goods[0], "1"))
    pick_list = release(order)
    client.force_login(user_with_role(role))
    for url in ("/warehouse/", f"/warehouse/pick-lists/{pick_list.pk}/", "/warehouse/pick-lists/batch/"):
        assert client.get(url).status_code == status
    posted = client.post(f"/warehouse/pick-lists/{pick_list.pk}/", {"action": "pick"})
    assert posted.status_code == (403 if status == 403 else 400)  # allowed, but nothing is picked yet
    pick_list.refresh_from_db()
    assert pick_list.status == PickListStatus.OPEN


def test_the_menu_shows_the_warehouse_to_the_warehouse_only(client, db):
    client.force_login(user_with_role("warehouse"))
    assert 'href="/warehouse/"' in client.get("/").content.decode()
    client.force_login(user_with_role("sales"))
    assert 'href="/warehouse/"' not in client.get("/").content.decode()


def test_the_queue_has_a_tab_per_state(warehouse_client, goods, worker):
    pump, filt = goods
    waiting = order_for((pump, "1"))  # not yet due
    stockless = order_for((ProductFactory(sku="NONE"), "1"))  # waits for stock
    to_pick = order_for((filt, "1"))
    services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=2))
    waiting2 = order_for((pump, "1"))
    page = warehouse_client.get("/warehouse/?tab=waiting").content.decode()
    assert str(waiting2.number) in page and str(stockless.number) in page
    assert "waiting for stock" in page
    assert str(waiting.number) not in page  # released with the sweep
    page = warehouse_client.get("/warehouse/?tab=pick").content.decode()
    assert str(to_pick.number) in page
    order, shipment = shipped_order(goods, worker, tracking="JJSE-TODAY")
    shipment.ship_date = timezone.localdate()
    Shipment.objects.filter(pk=shipment.pk).update(ship_date=timezone.localdate())
    page = warehouse_client.get("/warehouse/?tab=shipped").content.decode()
    assert "JJSE-TODAY" in page


def test_scanning_skus_counts_picks_and_an_order_number_opens_its_list(warehouse_client, goods):
    pump, filt = goods
    order = order_for((pump, "2"), (filt, "1"))
    other = order_for((filt, "1"))
    pick_list = release(order)
    other_list = PickList.objects.get(order=other)
    url = f"/warehouse/pick-lists/{pick_list.pk}/"
    lines = {line.order_line.product.sku: line for line in pick_list.lines.all()}
    data = {f"picked-{line.pk}": "0" for line in lines.values()}

    page = warehouse_client.post(url, {**data, "scan": "pump", "action": "scan"}).content.decode()
    assert f'name="picked-{lines["PUMP"].pk}" value="1"' in page
    data[f"picked-{lines['PUMP'].pk}"] = "1"
    page = warehouse_client.post(url, {**data, "scan": "PUMP", "action": "scan"}).content.decode()
    assert f'name="picked-{lines["PUMP"].pk}" value="2"' in page
    response = warehouse_client.post(url, {**data, "scan": "NOPE", "action": "scan"})
    assert response.status_code == 400
    assert "NOPE is neither a SKU" in response.content.decode()
    response = warehouse_client.post(url, {**data, "scan": str(other.number), "action": "scan"})
    assert response["Location"] == f"/warehouse/pick-lists/{other_list.pk}/"
    assert warehouse_client.get(f"/warehouse/scan/?code={other.number}")["Location"] == response["Location"]
    pick_list.refresh_from_db()
    assert pick_list.status == PickListStatus.OPEN  # scanning saves nothing

    data.update({f"picked-{lines['PUMP'].pk}": "2", f"picked-{lines['FILTER'].pk}": "1"})
    response = warehouse_client.post(url, {**data, "scan": "", "action": "pick"})
    assert response["Location"] == f"/warehouse/pick-lists/{pick_list.pk}/pack/"
    pick_list.refresh_from_db()
    assert pick_list.status == PickListStatus.PICKED
    assert sorted(pick_list.lines.values_list("picked", flat=True)) == [Decimal(1), Decimal(2)]


def test_picking_more_than_listed_is_shown_on_the_page(warehouse_client, goods):
    order = order_for((goods[0], "1"))
    pick_list = release(order)
    line = pick_list.lines.get()
    response = warehouse_client.post(
        f"/warehouse/pick-lists/{pick_list.pk}/", {f"picked-{line.pk}": "5", "action": "pick"}
    )
    assert response.status_code == 400
    assert "Pick between 0 and 1 of PUMP." in response.content.decode()


def test_packing_adds_and_removes_packages_then_shipping_shows_on_the_order(warehouse_client, goods, worker):
    order = order_for((goods[0], "1"))
    pick_list = release(order)
    pick_all(pick_list, worker)
    url = f"/warehouse/pick-lists/{pick_list.pk}/pack/"
    page = warehouse_client.post(url, {"weight": ["2.5"], "action": "add"}).content.decode()
    assert page.count('data-testid="package-weight"') == 2
    page = warehouse_client.post(url, {"weight": ["2.5", "1", "9"], "action": "remove-1"}).content.decode()
    assert page.count('data-testid="package-weight"') == 2 and 'value="9"' in page and 'value="1"' not in page
    response = warehouse_client.post(url, {"weight": ["2.5", "0"], "action": "pack"})
    assert response.status_code == 400
    assert "A package weighs more than 0 kg." in response.content.decode()
    response = warehouse_client.post(url, {"weight": ["2,5", "9"], "action": "pack"})
    shipment = Shipment.objects.get(order=order)
    assert response["Location"] == f"/warehouse/shipments/{shipment.pk}/"
    assert [p.weight_kg for p in shipment.packages.all()] == [Decimal("2.5"), Decimal(9)]

    response = warehouse_client.post(
        f"/warehouse/shipments/{shipment.pk}/", {"carrier": "DHL", "tracking_number": "", "ship_date": "2026-03-02"}
    )
    assert response.status_code == 400
    response = warehouse_client.post(
        f"/warehouse/shipments/{shipment.pk}/",
        {"carrier": "DHL", "tracking_number": "JVGL0001", "ship_date": "2026-03-02"},
    )
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert (shipment.status, shipment.tracking_number) == ("shipped", "JVGL0001")
    assert StockItem.objects.get(product=goods[0]).on_hand == Decimal(49)
    warehouse_client.force_login(user_with_role("sales"))
    page = warehouse_client.get(order.get_absolute_url()).content.decode()
    assert "JVGL0001" in page and 'data-testid="order-shipments"' in page


def test_the_batch_pick_page_walks_the_bins(warehouse_client, goods):
    pump, filt = goods
    first, second = order_for((pump, "1"), (filt, "2")), order_for((filt, "3"))
    services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=2))
    ids = PickList.objects.filter(order__in=[first, second]).values_list("pk", flat=True)
    page = warehouse_client.get("/warehouse/pick-lists/batch/", {"ids": list(ids)}).content.decode()
    assert page.index("A-01") < page.index("B-02")
    assert page.count('data-testid="batch-line"') == 2


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("tab", ["waiting", "pick", "pack", "ship", "shipped"])
def test_queue_queries_do_not_grow_with_rows(warehouse_client, goods, worker, tab):
    def add_rows():
        order_for((goods[1], "1"))  # waiting
        order = order_for((goods[0], "1"))
        services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=2))
        picked = order_for((goods[1], "1"))
        services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=2))
        pick_all(PickList.objects.get(order=picked), worker)
        shipped_order(goods, worker)
        return order

    add_rows()
    few = count_queries(warehouse_client, f"/warehouse/?tab={tab}")
    for _ in range(4):
        add_rows()
    Shipment.objects.update(ship_date=timezone.localdate())
    assert count_queries(warehouse_client, f"/warehouse/?tab={tab}") == few


def test_the_api_lists_and_filters_shipments(api_client_for, goods, worker):
    first_order, first = shipped_order(goods, worker, tracking="T-1")
    second_order, second = shipped_order(goods, worker, tracking="T-2")
    Shipment.objects.filter(pk=second.pk).update(carrier="DHL", ship_date=TODAY + datetime.timedelta(days=3))
    client = api_client_for("sales")

    body = client.get("/api/v1/shipments/").json()
    assert body["count"] == 2
    assert [s["tracking_number"] for s in body["results"]] == ["T-2", "T-1"]
    assert client.get("/api/v1/shipments/", {"order": first_order.number}).json()["results"][0]["id"] == first.pk
    assert [s["id"] for s in client.get("/api/v1/shipments/", {"carrier": "dhl"}).json()["results"]] == [second.pk]
    dated = client.get("/api/v1/shipments/", {"ship_date_from": TODAY.isoformat(), "ship_date_to": TODAY.isoformat()})
    assert [s["id"] for s in dated.json()["results"]] == [first.pk]
    assert client.get("/api/v1/shipments/", {"status": "packed"}).json()["count"] == 0
    assert client.get("/api/v1/shipments/", {"page_size": 1}).json()["next"]

    detail = client.get(f"/api/v1/shipments/{first.pk}/").json()
    assert detail["order"] == first_order.number
    assert detail["tracking_number"] == "T-1" and detail["carrier"] == "PostNord"
    assert sorted((line["sku"], line["quantity"]) for line in detail["lines"]) == [
        ("FILTER", "2.000"),
        ("PUMP", "1.000"),
    ]
    assert detail["packages"] == [{"reference": first.packages.get().reference, "weight_kg": "2.000"}]
    assert api_client_for(None).get("/api/v1/shipments/").status_code == 401


def test_shipment_list_queries_do_not_grow(api_client_for, goods, worker):
    client = api_client_for("warehouse")
    shipped_order(goods, worker)
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/shipments/")
    for _ in range(5):
        shipped_order(goods, worker)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/shipments/").json()["results"]) == 6
    assert len(many) == len(few)


def test_the_schema_documents_shipments(api_client_for):
    schema = api_client_for("admin").get("/api/schema/", {"format": "json"}).json()
    assert schema["paths"]["/api/v1/shipments/"]["get"]["summary"] == "List shipments"
    assert "/api/v1/shipments/{id}/" in schema["paths"]
