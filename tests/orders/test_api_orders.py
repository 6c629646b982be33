import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from o2c.common.models import AuditEntry, IdempotencyKey
from o2c.outbox.models import OutboxEvent
from orders.models import Order, OrderStatus

URL = "/api/v1/orders/"


def body(**overrides):
    return {
        "customer": "10001",
        "channel": "webshop",
        "external_reference": "WS-1",
        "lines": [
            {"sku": "HP-8", "quantity": "1"},
            {"sku": "FILTER", "quantity": "2"},
            {"sku": "BOOK", "quantity": "1"},
        ],
        **overrides,
    }


@pytest.fixture
def shop(api_client_for, customer, catalogue):
    return api_client_for("sales")


def assert_nothing_saved():
    assert not Order.objects.exists()
    assert not OutboxEvent.objects.exists()
    assert not AuditEntry.objects.filter(content_type__model="order").exists()


def test_create_an_e_order(shop):
    response = shop.post(URL, body(), format="json")
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["status"] == "awaiting_release"  # confirmed, stock reserved, waiting out the release delay
    assert order["customer"] == "10001"
    assert [line["sku"] for line in order["lines"]] == ["HP-8", "FILTER", "BOOK"]
    assert order["net_amount"] == "90893.00"
    assert order["vat_breakdown"] == [
        {"category_code": "S", "rate": "25.00", "taxable_amount": "90598.00", "vat_amount": "22649.50"},
        {"category_code": "S", "rate": "6.00", "taxable_amount": "295.00", "vat_amount": "17.70"},
    ]
    assert order["gross_amount"] == "113560.20"
    assert shop.get(f"{URL}{order['id']}/").json() == order


def test_the_same_key_and_body_replays_the_first_response_and_creates_nothing(shop):
    first = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    again = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_a_replay_the_full_way_sends_the_same_bytes_too(shop):
    """Another Accept than replay_early takes: DRF renders the stored answer, byte for byte the same."""
    first = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    again = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1", HTTP_ACCEPT="application/*")
    assert again["Idempotent-Replayed"] == "true"
    assert (again.status_code, again.content) == (first.status_code, first.content)


def test_a_client_that_asks_for_indented_json_gets_its_replay_indented_as_well(shop):
    """The stored answer is compact JSON; a retry that asks for `indent` gets it rendered so, as
    the first answer was, not the compact text."""
    accept = "application/json; indent=4"
    first = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1", HTTP_ACCEPT=accept)
    assert b'\n    "' in first.content
    again = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1", HTTP_ACCEPT=accept)
    assert again["Idempotent-Replayed"] == "true"
    assert (again.status_code, again.content) == (first.status_code, first.content)


def test_the_same_key_with_another_body_is_422(shop):
    shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    response = shop.post(URL, body(customer_reference="changed"), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_keys_are_scoped_to_the_client(shop, api_client_for):
    shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = api_client_for("manager")
    response = other.post(URL, body(external_reference="WS-2"), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201
    assert Order.objects.count() == 2


def test_keys_expire_after_24_hours(shop):
    shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
    response = shop.post(URL, body(external_reference="WS-2"), format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Order.objects.count() == 2


def test_a_failed_request_stores_no_key_so_the_client_can_fix_and_retry(shop):
    bad = shop.post(URL, body(lines=[{"sku": "NOPE", "quantity": "1"}]), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_a_repeated_external_reference_without_key_is_409_naming_the_order(shop):
    first = shop.post(URL, body(), format="json").json()
    response = shop.post(URL, body(), format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["order"] == {"id": first["id"], "number": first["number"]}
    assert str(first["number"]) in error["message"]
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "path", "text"),
    [
        (
            {
                "lines": [
                    {"sku": "HP-8", "quantity": "1"},
                    {"sku": "FILTER", "quantity": "1"},
                    {"sku": "NOPE", "quantity": "1"},
                ]
            },
            "lines[2].sku",
            "No active product with SKU 'NOPE'",
        ),
        ({"customer": "99999"}, "customer", "No customer with number 99999"),
        ({"lines": [{"sku": "HP-8", "quantity": "0"}]}, "lines[0].quantity", "more than 0"),
        ({"lines": [{"sku": "HP-8", "quantity": "-2"}]}, "lines[0].quantity", "more than 0"),
        ({"lines": [{"sku": "HP-8", "quantity": "abc"}]}, "lines[0].quantity", "number"),
        ({"lines": [{"sku": "HP-8"}]}, "lines[0].quantity", "required"),
        ({"currency": "EUR"}, "currency", "invoiced in SEK, not EUR"),
        ({"lines": [{"sku": "BOOK", "quantity": "1"}] * 501}, "lines", "at most 500 lines"),
        ({"lines": []}, "lines", "at least one line"),
        ({"channel": "fax"}, "channel", "valid choice"),
        ({"requested_delivery_date": "2020-01-01"}, "requested_delivery_date", "in the past"),
    ],
)
def test_bad_input_is_400_with_field_paths_and_saves_nothing(shop, overrides, path, text):
    response = shop.post(URL, body(**overrides), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert path in fields, fields
    assert text in " ".join(fields[path])
    assert_nothing_saved()


def test_a_blocked_customer_is_400(shop, customer):
    from orders import services

    services.customer_block(customer=customer, reason="Overdue", actor=None)
    response = shop.post(URL, body(), format="json")
    assert response.status_code == 400
    assert "blocked" in response.json()["error"]["fields"]["customer"][0]


def test_more_decimals_than_the_currency_allows(api_client_for, customer, catalogue):
    manager = api_client_for("manager")  # may set prices
    response = manager.post(URL, body(lines=[{"sku": "BOOK", "quantity": "1", "unit_price": "10.005"}]), format="json")
    assert response.status_code == 400
    assert "at most 2 decimals" in response.json()["error"]["fields"]["lines[0].unit_price"][0]


def test_a_sales_api_client_may_not_set_prices(shop):
    response = shop.post(URL, body(lines=[{"sku": "BOOK", "quantity": "1", "unit_price": "1.00"}]), format="json")
    assert response.status_code == 400
    assert "lines[0].unit_price" in response.json()["error"]["fields"]


def test_malformed_json_is_400(shop):
    response = shop.post(URL, data='{"customer": "10001", "lines": [', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert_nothing_saved()


def test_a_body_over_1_mb_is_413(shop):
    big = json.dumps(body(note="x" * (1024 * 1024)))
    response = shop.post(URL, data=big, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert_nothing_saved()


def test_a_chunked_body_without_content_length_is_411_not_an_empty_order(shop):
    chunked = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}
    response = shop.post(URL, data=json.dumps(body()), content_type="application/json", **chunked)
    assert response.status_code == 411
    assert response.json()["error"]["code"] == "length_required"
    assert "Content-Length" in response.json()["error"]["message"]
    assert_nothing_saved()


def test_cancel_with_a_reason_and_not_twice(shop):
    order = shop.post(URL, body(), format="json").json()
    assert shop.post(f"{URL}{order['id']}/cancel/", {}, format="json").status_code == 400
    response = shop.post(f"{URL}{order['id']}/cancel/", {"reason": "Changed mind"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["cancel_reason"]) == ("cancelled", "Changed mind")
    again = shop.post(f"{URL}{order['id']}/cancel/", {"reason": "again"}, format="json")
    assert again.status_code == 409


def test_the_schema_documents_the_order_endpoints_with_examples_the_api_keeps_to(shop):
    paths = shop.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert {f"{URL}", f"{URL}{{id}}/", f"{URL}{{id}}/cancel/"} <= set(paths)
    create = paths[URL]["post"]
    assert set(create["responses"]) == {"201", "400", "409", "411", "413", "422"}
    assert any(parameter["name"] == "Idempotency-Key" for parameter in create["parameters"])
    request_example = next(iter(create["requestBody"]["content"]["application/json"]["examples"].values()))
    error_example = next(iter(create["responses"]["400"]["content"]["application/json"]["examples"].values()))
    conflict_example = next(iter(create["responses"]["409"]["content"]["application/json"]["examples"].values()))
    assert {"customer", "channel", "external_reference", "lines"} <= set(request_example["value"])
    cancel = paths[f"{URL}{{id}}/cancel/"]["post"]
    assert set(cancel["responses"]) == {"200", "400", "409"}
    cancel_example = next(iter(cancel["requestBody"]["content"]["application/json"]["examples"].values()))
    filters = {parameter["name"] for parameter in paths[URL]["get"]["parameters"]}
    assert {"status", "customer", "channel", "q", "page"} <= filters

    # The examples say what the API really answers: the same codes and field paths.
    invalid = body(lines=[{"sku": "HP-8", "quantity": "0"}, {"sku": "BOOK", "quantity": "1"}, {"sku": "NOPE"}])
    invalid["lines"][2]["quantity"] = "1"
    answer = shop.post(URL, invalid, format="json").json()["error"]
    documented = error_example["value"]["error"]
    assert (answer["code"], answer["fields"]) == (documented["code"], documented["fields"])
    first = shop.post(URL, body(), format="json").json()
    repeated = shop.post(URL, body(), format="json").json()["error"]
    assert (repeated["code"], set(repeated["order"])) == ("conflict", set(conflict_example["value"]["error"]["order"]))
    cancelled = shop.post(f"{URL}{first['id']}/cancel/", cancel_example["value"], format="json")
    assert cancelled.json()["cancel_reason"] == cancel_example["value"]["reason"]


def test_warehouse_may_read_but_not_create_orders(api_client_for, customer, catalogue):
    warehouse = api_client_for("warehouse")
    assert warehouse.get(URL).status_code == 200
    assert warehouse.post(URL, body(), format="json").status_code == 403


def test_list_filters_and_query_count(shop):
    for i in range(3):
        shop.post(URL, body(external_reference=f"A-{i}"), format="json")
    with CaptureQueriesContext(connection) as few:
        assert shop.get(URL).json()["count"] == 3
    for i in range(12):
        shop.post(URL, body(external_reference=f"B-{i}", channel="marketplace"), format="json")
    with CaptureQueriesContext(connection) as many:
        page = shop.get(URL).json()
    assert page["count"] == 15
    assert len(many) == len(few)
    assert shop.get(URL, {"channel": "marketplace"}).json()["count"] == 12
    assert shop.get(URL, {"external_reference": "A-1"}).json()["count"] == 1
    assert shop.get(URL, {"status": ["awaiting_release", "cancelled"]}).json()["count"] == 15
    assert (
        shop.get(URL, {"customer": "10001", "ordering": "number"}).json()["results"][0]["external_reference"] == "A-0"
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_20_concurrent_posts_with_one_key_create_one_order_and_get_one_answer(api_client_for, company):
    from django.db import connections

    # Transactional tests start without the VAT categories the migration seeded.
    from orders.migrations import _seed  # noqa: F401  (see below)
    from tests.factories import CustomerFactory, ProductFactory, vat_category

    _seed.vat()
    CustomerFactory(number="10001", credit_limit=Decimal("100000000"))
    ProductFactory(sku="HP-8", vat_category=vat_category("standard"))
    ProductFactory(sku="FILTER", vat_category=vat_category("standard"))
    ProductFactory(sku="BOOK", vat_category=vat_category("reduced_culture"))
    client = api_client_for("sales")
    start = threading.Barrier(20)
    responses = []

    def post():
        try:
            start.wait()
            response = client.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="same-key")
            responses.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Order.objects.count() == 1
    assert len(responses) == 20
    assert {status for status, _ in responses} == {201}
    assert all(answer == responses[0][1] for _, answer in responses)
    assert OutboxEvent.objects.filter(event_type="order.created").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_8_concurrent_posts_of_one_external_reference_make_one_order_and_seven_409s(api_client_for, company):
    from orders.migrations import _seed
    from tests.factories import CustomerFactory, ProductFactory, vat_category
    from tests.invoicing.threads import in_threads

    _seed.vat()
    CustomerFactory(number="10001", credit_limit=Decimal("100000000"))
    for sku in ("HP-8", "FILTER", "BOOK"):
        ProductFactory(sku=sku, vat_category=vat_category("standard"))
    client = api_client_for("sales")

    # When 8 requests without a key send the same channel reference at once (the order row is written
    # when each request's chain ends; the unique index makes the later ones wait for the first),
    results, errors = in_threads(lambda _n: client.post(URL, body(), format="json"), list(range(8)))

    # then one order exists and every other request is told which it is.
    assert errors == []
    assert Order.objects.count() == 1
    order = Order.objects.get()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * 7
    for conflict in (r for r in results if r.status_code == 409):
        assert conflict.json()["error"]["order"] == {"id": order.pk, "number": order.number}
    assert AuditEntry.objects.filter(object_id=str(order.pk)).count() == 4  # nothing of the refused ones


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_6_concurrent_orders_of_one_customer_never_pass_on_the_same_credit_headroom(api_client_for, company):
    from orders.migrations import _seed
    from tests.factories import CustomerFactory, ProductFactory, vat_category
    from tests.invoicing.threads import in_threads

    # Given room for three orders of 300.00 (240.00 + 25 % VAT) under a limit of 1,000.00,
    _seed.vat()
    CustomerFactory(number="10001", credit_limit=Decimal("1000.00"))
    ProductFactory(sku="SVC-240", unit_price=Decimal("240.00"), vat_category=vat_category("standard"))
    client = api_client_for("sales")

    # when six orders arrive at once (the credit check locks the customer, then sums its open orders),
    def post(n):
        return client.post(
            URL, body(external_reference=f"WS-C{n}", lines=[{"sku": "SVC-240", "quantity": "1"}]), format="json"
        )

    results, errors = in_threads(post, list(range(6)))

    # then exactly three are confirmed and three wait on credit hold.
    assert errors == []
    assert sorted(r.status_code for r in results) == [201] * 6
    statuses = sorted(r.json()["status"] for r in results)
    assert statuses == ["awaiting_release"] * 3 + ["credit_hold"] * 3
    assert Order.objects.filter(status=OrderStatus.AWAITING_RELEASE).count() == 3


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_an_order_is_still_accepted(api_client_for, company, settings, caplog, celery_broker):
    from orders.migrations import _seed
    from tests.factories import CustomerFactory, ProductFactory, vat_category

    _seed.vat()
    CustomerFactory(number="10001", credit_limit=Decimal("100000000"))
    for sku in ("HP-8", "FILTER", "BOOK"):
        ProductFactory(sku=sku, vat_category=vat_category("standard"))
    settings.O2C_OUTBOX_KICK = True
    from o2c.outbox import services as outbox_services

    outbox_services._kick_paused_until = 0.0  # an earlier test's outage is over
    outbox_services._kick_next = 0.0  # nor does an earlier kick hold this one back
    celery_broker("redis://127.0.0.1:1/0")
    started = time.monotonic()
    response = api_client_for("sales").post(URL, body(), format="json")
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed < 10
    assert Order.objects.get().status == OrderStatus.AWAITING_RELEASE
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True, event_type="order.awaiting_release").exists()
    assert "periodic sweep" in caplog.text


# What an e-order costs: statement counts that fail when a change adds round trips ---------------


@pytest.fixture
def production_caches(settings):
    """The per-process caches on as in production (the test settings turn the token cache off)."""
    from o2c.common.api_auth import CachedTokenAuthentication

    settings.O2C_API_TOKEN_CACHE_SECONDS = 5
    settings.O2C_REFERENCE_CACHE_SECONDS = 5
    CachedTokenAuthentication._cache.clear()
    yield
    CachedTokenAuthentication._cache.clear()


def test_a_new_e_order_costs_at_most_7_statements(shop, catalogue, production_caches, django_assert_max_num_queries):
    from fulfilment.services import stock_receive

    # given: stock on the shelf, the caches warm and the statements prepared, as in steady state
    for product in catalogue.values():
        stock_receive(product=product, quantity=Decimal(100), actor=None)
    first = shop.post(URL, body(external_reference="WARM"), format="json", HTTP_IDEMPOTENCY_KEY="warm")
    assert first.status_code == 201
    # when: a 3-line order with a fresh key. Its statements (62 before issue 4's speed work), inside
    # this test's transaction (test_a_new_e_order_is_5_round_trips counts them in production's):
    #  1 the key read before the transaction       4 customer locked, then the open orders' sum
    #  2 SAVEPOINT (in production BEGIN goes       5 the stock rows locked, in primary-key order
    #    with the next statement)                  6 the order written once, at the chain's end: key with
    #  3 customer, its sales rep, products and       its answer, stock balances, stock moves, allocations,
    #    their VAT categories, and the order's       events, audit entries, the order, its lines (in
    #    id and number and its lines' ids, in        production with the COMMIT)
    #    one SELECT                                7 RELEASE SAVEPOINT
    # Not read per order: company, VAT rates, release delay, default warehouse (cached), the order again.
    with django_assert_max_num_queries(7):
        response = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="new")
    # then
    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "awaiting_release"
    assert shop.get(f"{URL}{order['id']}/").json() == order  # the answer built from the instances in hand
    stored = Order.objects.get(pk=order["id"])
    assert (stored.status, stored.release_at is not None) == ("awaiting_release", True)
    assert AuditEntry.objects.filter(object_id=str(order["id"])).count() == 4  # created + 3 transitions
    assert OutboxEvent.objects.filter(aggregate_id=str(order["id"])).count() == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_new_e_order_is_5_round_trips(api_client_for, company, production_caches):
    """As in production: no transaction around the request, so BEGIN and COMMIT travel with the
    statements beside them (o2c.common.postgresql)."""
    from fulfilment.services import stock_receive
    from orders.migrations import _seed
    from tests.factories import CustomerFactory, ProductFactory, vat_category

    _seed.vat()
    CustomerFactory(number="10001", credit_limit=Decimal("100000000"))
    for sku in ("HP-8", "FILTER", "BOOK"):
        product = ProductFactory(sku=sku, vat_category=vat_category("standard"))
        stock_receive(product=product, quantity=Decimal(100), actor=None)
    shop = api_client_for("sales")
    assert (
        shop.post(URL, body(external_reference="WARM"), format="json", HTTP_IDEMPOTENCY_KEY="warm").status_code == 201
    )
    sent = []

    def record(execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        finally:
            sent.append(context["cursor"].cursor.query.decode())

    with connection.execute_wrapper(record):
        response = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="new")
    assert response.status_code == 201
    assert len(sent) == 5, sent  # key; BEGIN + customer, products and ids; credit; stock; writes + COMMIT
    assert sent[1].startswith("BEGIN;\nEXECUTE") and "'HP-8'" in sent[1] and "'10001'" in sent[1]
    assert sent[-1].rstrip().endswith("COMMIT") and sent[-1].count("EXECUTE") >= 8  # the chain's writes
    assert Order.objects.get(pk=response.json()["id"]).status == OrderStatus.AWAITING_RELEASE


def test_a_replay_is_one_statement_and_answers_as_the_first_time(shop, production_caches, django_assert_num_queries):
    first = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    with django_assert_num_queries(1):
        again = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert (again.status_code, again.content) == (first.status_code, first.content)  # the same bytes
    assert again["Idempotent-Replayed"] == "true"
    assert again["Content-Type"] == "application/json"
    assert again["Content-Length"] == str(len(again.content))  # not chunked: the answer's size up front
    assert Order.objects.count() == 1


def test_a_replay_with_the_keys_in_another_order_and_spacing_is_still_a_replay(shop):
    first = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    reordered = json.dumps(dict(reversed(list(body().items()))), indent=2)
    again = shop.post(URL, data=reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (201, first.json(), "true")


def test_a_client_that_lost_its_role_gets_no_replay(shop):
    shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    shop.user.groups.clear()
    response = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert response.status_code == 403
    assert "Idempotent-Replayed" not in response


def test_a_replay_with_a_wrong_token_is_401(shop, api_client_for):
    shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    shop.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert response.status_code == 401


def test_a_replay_for_the_browsable_api_goes_through_drf_and_still_replays(shop):
    first = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    again = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1", HTTP_ACCEPT="application/json; q=1")
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (201, first.json(), "true")
    html = shop.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="key-1", HTTP_ACCEPT="text/html")
    assert (html.status_code, html["Idempotent-Replayed"]) == (201, "true")
    assert html["Content-Type"].startswith("text/html")
    assert Order.objects.count() == 1


def test_a_new_vat_rate_reaches_the_next_order_at_once(shop, production_caches):
    from orders.models import VatCategory, VatRate

    shop.post(URL, body(external_reference="BEFORE"), format="json")  # caches the rates
    standard = VatCategory.objects.get(country="SE", code="standard")
    VatRate.objects.create(category=standard, rate=Decimal("30.00"), valid_from=timezone.localdate())
    order = shop.post(URL, body(external_reference="AFTER"), format="json").json()
    assert [line["vat_rate"] for line in order["lines"]] == ["30.00", "30.00", "6.00"]


def test_a_replay_answered_by_the_middleware_has_the_first_answers_security_headers(api_client_for, company):
    from tests.factories import CustomerFactory, ProductFactory

    customer, product = CustomerFactory(credit_limit=Decimal("1000000")), ProductFactory()
    client = api_client_for("sales")
    body = {"customer": customer.number, "lines": [{"sku": product.sku, "quantity": "1"}]}
    first = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="mw-1")
    again = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="mw-1")
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (201, first.json(), "true")
    for header in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"):
        assert again[header] == first[header], header
