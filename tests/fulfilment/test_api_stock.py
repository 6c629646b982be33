"""Stock levels over REST: a WMS reports counts (POST), anyone with stock.view reads them (GET)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfilment import services
from fulfilment.models import LineAllocation, StockItem, StockMove
from orders import services as order_services
from orders.models import Order
from orders.services import LineInput
from tests.factories import CustomerFactory, ProductFactory

URL = "/api/v1/stock-levels/"


def order_for(product, quantity) -> Order:
    return order_services.order_create(
        customer=CustomerFactory(credit_limit=Decimal("10000000")),
        actor=None,
        submit=True,
        lines=[LineInput(sku=product.sku, quantity=Decimal(quantity))],
    )


def stock(sku) -> StockItem:
    return StockItem.objects.get(product__sku=sku)


@pytest.fixture
def wms(api_client_for):
    return api_client_for("warehouse")


@pytest.fixture
def shelf(db):
    pump = ProductFactory(sku="PUMP", name="Värmepump")
    ProductFactory(sku="FILTER", name="Filter")
    ProductFactory(sku="INSTALL", kind="service")
    services.stock_receive(product=pump, quantity=Decimal(10), actor=None, reference="PO-1")
    return pump


def test_wms_counts_set_on_hand_and_bins(wms, shelf):
    response = wms.post(
        URL,
        {
            "reference": "WMS-1",
            "counts": [{"sku": "PUMP", "on_hand": "12", "bin": "A-01-1"}, {"sku": "FILTER", "on_hand": "7.5"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["reference"] == "WMS-1" and body["counted"] == 2
    assert [(i["sku"], i["bin"], i["on_hand"], i["available"]) for i in body["items"]] == [
        ("PUMP", "A-01-1", "12.000", "12.000"),
        ("FILTER", "", "7.500", "7.500"),
    ]
    assert (stock("PUMP").on_hand, stock("PUMP").bin_location) == (Decimal(12), "A-01-1")
    assert stock("FILTER").on_hand == Decimal("7.5")
    count = StockMove.objects.filter(stock_item__product__sku="PUMP", kind="count").get()
    assert (count.on_hand_change, count.reference, count.actor) == (Decimal(2), "WMS-1", wms.user)


def test_a_count_below_reservations_turns_the_newest_into_backorders(wms, shelf):
    older = order_for(shelf, "6")
    newer = order_for(shelf, "4")
    response = wms.post(URL, {"reference": "WMS-2", "counts": [{"sku": "PUMP", "on_hand": "7"}]}, format="json")
    assert response.status_code == 200
    (item,) = response.json()["items"]
    assert (item["on_hand"], item["reserved"], item["available"], item["backordered"]) == (
        "7.000",
        "7.000",
        "0.000",
        "3.000",
    )
    assert LineAllocation.objects.get(order_line__order=older).reserved == Decimal(6)
    allocation = LineAllocation.objects.get(order_line__order=newer)
    assert (allocation.reserved, allocation.backordered) == (Decimal(1), Decimal(3))
    # A count above fills the backorder again.
    wms.post(URL, {"counts": [{"sku": "PUMP", "on_hand": "20"}]}, format="json")
    allocation.refresh_from_db()
    assert (allocation.reserved, allocation.backordered) == (Decimal(4), Decimal(0))


def test_every_input_error_comes_back_at_once_with_its_path_and_nothing_is_counted(wms, shelf):
    before = StockMove.objects.count()
    response = wms.post(
        URL,
        {
            "counts": [
                {"sku": "PUMP", "on_hand": "-1"},
                {"sku": "FILTER", "on_hand": "3"},
                {"sku": "INSTALL", "on_hand": "1"},
                {"sku": "NOPE", "on_hand": "1"},
                {"sku": "FILTER", "on_hand": "4"},
            ]
        },
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"] == {
        "counts[0].on_hand": ["A count cannot be negative."],
        "counts[2].sku": ["INSTALL is a service; it has no stock."],
        "counts[3].sku": ["No product with SKU 'NOPE'."],
        "counts[4].sku": ["FILTER is already counted in counts[1]."],
    }
    assert StockMove.objects.count() == before
    assert stock("PUMP").on_hand == Decimal(10)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"counts": [{"sku": "PUMP", "on_hand": "twelve"}]}, "counts[0].on_hand"),
        ({"counts": [{"sku": "PUMP", "on_hand": "1"}, {"sku": "PUMP", "on_hand": "1.0001"}]}, "counts[1].on_hand"),
        ({"counts": [{"sku": "PUMP"}]}, "counts[0].on_hand"),
        ({"counts": [{"on_hand": "1"}]}, "counts[0].sku"),
        ({"counts": []}, "counts"),
        ({}, "counts"),
        ({"counts": [{"sku": f"S{i}", "on_hand": "1"} for i in range(1001)]}, "counts"),
    ],
)
def test_malformed_input_is_400_with_the_path(wms, shelf, body, path):
    response = wms.post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [path], response.json()
    assert stock("PUMP").on_hand == Decimal(10)


def test_a_retry_with_the_same_idempotency_key_counts_once(wms, shelf):
    body = {"reference": "WMS-3", "counts": [{"sku": "PUMP", "on_hand": "4"}]}
    first = wms.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="count-3")
    services.stock_receive(product=shelf, quantity=Decimal(5), actor=None)  # goods arrive in between
    retry = wms.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="count-3")
    assert first.status_code == retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    assert StockMove.objects.filter(kind="count").count() == 1
    assert stock("PUMP").on_hand == Decimal(9)
    other = wms.post(URL, {**body, "reference": "WMS-4"}, format="json", HTTP_IDEMPOTENCY_KEY="count-3")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_a_failed_request_stores_no_key_so_the_corrected_retry_counts(wms, shelf):
    bad = wms.post(URL, {"counts": [{"sku": "NOPE", "on_hand": "1"}]}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert bad.status_code == 400
    good = wms.post(URL, {"counts": [{"sku": "PUMP", "on_hand": "1"}]}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert good.status_code == 200 and stock("PUMP").on_hand == Decimal(1)


def test_sales_may_read_but_not_report_counts(api_client_for, shelf):
    sales = api_client_for("sales")
    assert sales.get(URL).status_code == 200
    response = sales.post(URL, {"counts": [{"sku": "PUMP", "on_hand": "0"}]}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert stock("PUMP").on_hand == Decimal(10)


def test_without_a_token_it_is_401(api_client_for, shelf):
    anonymous = api_client_for(None)
    assert anonymous.get(URL).status_code == 401
    response = anonymous.post(URL, {"counts": [{"sku": "PUMP", "on_hand": "0"}]}, format="json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
    assert stock("PUMP").on_hand == Decimal(10)


def test_stock_levels_list_filters_sorts_and_paginates(api_client_for, shelf):
    for index in range(3):
        product = ProductFactory(sku=f"VALVE-{index}")
        services.stock_receive(product=product, quantity=Decimal(index + 1), actor=None)
        services.stock_count(product=product, counted=Decimal(index + 1), actor=None, bin_location=f"C-0{index}")
    order_for(ProductFactory(sku="GONE"), "2")
    client = api_client_for("sales")
    page = client.get(URL, {"page_size": 2}).json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    assert page["results"][0] == {
        "sku": "GONE",
        "name": page["results"][0]["name"],
        "warehouse": "main",
        "bin": "",
        "on_hand": "0.000",
        "reserved": "0.000",
        "available": "0.000",
        "backordered": "2.000",
    }

    def skus(**params):
        return [row["sku"] for row in client.get(URL, params).json()["results"]]

    assert skus(has_backorders="true") == ["GONE"]
    assert skus(nothing_available="true") == ["GONE"]
    assert skus(bin="C-0") == ["VALVE-0", "VALVE-1", "VALVE-2"]
    assert skus(sku="PUMP") == ["PUMP"]
    assert skus(q="värme") == ["PUMP"]
    assert skus(ordering="-on_hand")[:2] == ["PUMP", "VALVE-2"]
    assert skus(ordering="available")[0] == "GONE"


def test_stock_levels_list_queries_do_not_grow_with_rows(api_client_for, shelf):
    client = api_client_for("warehouse")
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    for index in range(20):
        services.stock_receive(product=ProductFactory(sku=f"MORE-{index}"), quantity=Decimal(1), actor=None)
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).status_code == 200
    assert len(many) == len(few)


def test_the_schema_documents_the_stock_levels_endpoint(api_client_for):
    schema = api_client_for("sales").get("/api/schema/", {"format": "json"}).json()
    post = schema["paths"]["/api/v1/stock-levels/"]["post"]
    assert post["summary"] == "Report stock counts (WMS)"
    examples = post["requestBody"]["content"]["application/json"]["examples"].values()
    assert [example["summary"] for example in examples] == ["Nightly count from the WMS"]
    assert any(parameter["name"] == "Idempotency-Key" for parameter in post["parameters"])
