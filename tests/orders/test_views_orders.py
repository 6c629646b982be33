"""The sales rep's order UI: entry with live totals, the order list and the order page."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from o2c.common.models import AuditEntry
from o2c.common.roles import CAPABILITIES, Role
from o2c.outbox.models import OutboxEvent
from orders import services
from orders.models import HoldKind, Order, OrderStatus
from orders.services import LineInput
from tests.factories import CustomerFactory, ProductFactory, user_with_role

# Three lines at two VAT rates (see tests/orders/conftest.py), worked out by hand:
#   HP-8    1 × 89 900.00            = 89 900.00  (25 %)
#   FILTER  3 × 349.00 less 12.5 %   =    916.13  (25 %; 916.125 rounds half up)
#   BOOK    2 × 295.00               =    590.00  ( 6 %)
#   VAT 25 % on 90 816.13 = 22 704.0325 -> 22 704.03; VAT 6 % on 590.00 = 35.40
#   net 91 406.13, VAT 22 739.43, gross 114 145.56
# Within the credit limit an order is confirmed; the fulfilment stage then schedules its release.
ACCEPTED = {OrderStatus.CONFIRMED, OrderStatus.AWAITING_RELEASE}
LINES = {
    "sku": ["HP-8", "FILTER", "BOOK"],
    "quantity": ["1", "3", "2"],
    "discount_percent": ["0", "12.5", "0"],
}


def entry(customer, **extra) -> dict:
    return {"customer": str(customer.pk), **LINES, "action": "submit", **extra}


def html(response) -> str:
    return response.content.decode()


def line_row(page: str, index: int) -> str:
    """The <tr> of line `index` (0-based) in the entry form's lines table."""
    match = re.search(rf'<tr data-line="{index}".*?</tr>', page, re.S)
    assert match, f"no line {index} in the page"
    return match.group(0)


def place_order(customer, rep, lines=(("FILTER", "1"),), submit=False, **kwargs) -> Order:
    return services.order_create(
        customer=customer,
        actor=rep,
        via="web",
        submit=submit,
        lines=[LineInput(sku=sku, quantity=Decimal(quantity)) for sku, quantity in lines],
        **kwargs,
    )


@pytest.fixture
def sales(db):
    return user_with_role("sales", "anna")


@pytest.fixture
def sales_client(client, sales, company):
    client.force_login(sales)
    return client


# Entry ------------------------------------------------------------------------------------------


def test_sales_rep_enters_an_order_with_two_vat_rates(sales_client, sales, customer, catalogue):
    delivery = timezone.localdate() + datetime.timedelta(days=14)
    response = sales_client.post(
        "/orders/new/",
        entry(customer, customer_reference="PO-778", requested_delivery_date=delivery.isoformat(), note="Ring first"),
    )

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}/"
    assert order.status in ACCEPTED  # within the customer's credit limit
    assert [line.net_amount for line in order.lines.order_by("position")] == [
        Decimal("89900.00"),
        Decimal("916.13"),
        Decimal("590.00"),
    ]
    assert [line.vat_rate for line in order.lines.order_by("position")] == [
        Decimal("25.00"),
        Decimal("25.00"),
        Decimal("6.00"),
    ]
    assert (order.net_amount, order.vat_amount, order.gross_amount) == (
        Decimal("91406.13"),
        Decimal("22739.43"),
        Decimal("114145.56"),
    )
    assert (order.customer_reference, order.requested_delivery_date, order.note) == ("PO-778", delivery, "Ring first")
    assert order.created_by == sales
    assert AuditEntry.objects.filter(object_id=str(order.pk), via="web", actor=sales).exists()

    page = html(sales_client.get(response["Location"]))
    assert f"Order {order.number} submitted." in page
    for amount in ("89,900.00", "916.13", "590.00", "91,406.13", "22,704.03", "35.40", "22,739.43", "114,145.56"):
        assert f"{amount}\u00a0SEK" in page


def test_save_as_draft_keeps_the_order_a_draft(sales_client, customer, catalogue):
    response = sales_client.post("/orders/new/", entry(customer, action="draft"))
    order = Order.objects.get()
    assert response.status_code == 302
    assert order.status == OrderStatus.DRAFT
    assert order.gross_amount == Decimal("114145.56")
    assert list(OutboxEvent.objects.values_list("event_type", flat=True)) == ["order.created"]


def test_a_sales_rep_cannot_set_a_price_but_a_manager_can(client, company, customer, catalogue):
    client.force_login(user_with_role("sales"))
    assert 'name="unit_price"' not in html(client.post("/orders/new/lines/", {"customer": customer.pk, "add": "BOOK"}))
    # A price smuggled into the post is ignored: the product's price applies.
    client.post("/orders/new/", {**entry(customer), "unit_price": ["1.00", "1.00", "1.00"]})
    assert Order.objects.get().lines.get(position=1).unit_price == Decimal("89900.00")

    client.force_login(user_with_role("manager"))
    lines = html(client.post("/orders/new/lines/", {"customer": customer.pk, "add": "BOOK"}))
    assert 'name="unit_price" value="295.00"' in lines
    client.post("/orders/new/", {**entry(customer), "unit_price": ["80000.00", "", "250.00"]})
    order = Order.objects.latest("number")
    assert [line.unit_price for line in order.lines.order_by("position")] == [
        Decimal("80000.00"),
        Decimal("349.00"),
        Decimal("250.00"),
    ]


def test_errors_land_on_the_line_and_field_they_name_and_nothing_is_saved(sales_client, customer, catalogue):
    data = {
        "customer": str(customer.pk),
        "sku": ["HP-8", "FILTER", "NO-SUCH-SKU"],
        "quantity": ["1", "0", "2"],
        "discount_percent": ["0", "0", "101"],
        "requested_delivery_date": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
        "action": "submit",
    }
    response = sales_client.post("/orders/new/", data)

    assert response.status_code == 400
    page = html(response)
    assert 'data-field="lines[0].' not in line_row(page, 0)
    assert re.search(r'data-field="lines\[1\]\.quantity">The quantity must be more than 0\.', line_row(page, 1))
    assert 'data-field="lines[2].sku">No active product with SKU' in line_row(page, 2)
    assert 'data-field="lines[2].discount_percent">A discount is between 0 and 100' in line_row(page, 2)
    assert 'data-field="requested_delivery_date">The requested delivery date is in the past.' in page
    # What was typed survives, and the customer stays chosen.
    assert 'name="sku" value="NO-SUCH-SKU"' in page
    assert f'name="customer" value="{customer.pk}"' in page
    assert not Order.objects.exists()
    assert not OutboxEvent.objects.exists()
    assert not AuditEntry.objects.filter(content_type__model="order").exists()


def test_a_blocked_customer_or_none_is_refused_on_the_customer_field(sales_client, company, catalogue):
    blocked = CustomerFactory(status="blocked", blocked_reason="Bankrupt")
    response = sales_client.post("/orders/new/", entry(blocked))
    assert response.status_code == 400
    assert re.search(r'data-field="customer">Customer \d+ is blocked: Bankrupt', html(response))

    response = sales_client.post("/orders/new/", {**LINES, "action": "submit"})
    assert response.status_code == 400
    assert 'data-field="customer">Choose a customer.' in html(response)
    assert not Order.objects.exists()


def test_an_order_without_lines_says_so(sales_client, customer, catalogue):
    response = sales_client.post("/orders/new/", {"customer": customer.pk, "action": "submit"})
    assert response.status_code == 400
    assert 'data-field="lines">An order needs at least one line.' in html(response)


# The live lines table ---------------------------------------------------------------------------


def test_lines_endpoint_prices_the_lines_with_vat_per_rate(sales_client, customer, catalogue):
    response = sales_client.post("/orders/new/lines/", {"customer": customer.pk, **LINES})

    assert response.status_code == 200
    page = html(response)
    nets = re.findall(r'data-testid="line-net">([^<]*)<', page)
    assert nets == ["89,900.00\u00a0SEK", "916.13\u00a0SEK", "590.00\u00a0SEK"]
    assert re.findall(r'data-testid="vat-amount">([^<]*)<', page) == ["22,704.03\u00a0SEK", "35.40\u00a0SEK"]
    assert 'data-testid="total-net">91,406.13\u00a0SEK' in page
    assert 'data-testid="total-vat">22,739.43\u00a0SEK' in page
    assert 'data-testid="total-gross">114,145.56\u00a0SEK' in page
    assert not Order.objects.exists()


def test_lines_endpoint_adds_and_removes_lines(sales_client, customer, catalogue):
    added = html(sales_client.post("/orders/new/lines/", {"customer": customer.pk, **LINES, "add": "BOOK"}))
    assert re.findall(r'name="sku" value="([^"]*)"', added) == ["HP-8", "FILTER", "BOOK", "BOOK"]
    assert 'data-testid="total-gross">114,458.26\u00a0SEK' in added  # one more book: 295.00 + 17.70 VAT

    removed = html(sales_client.post("/orders/new/lines/", {"customer": customer.pk, **LINES, "remove": "0"}))
    assert re.findall(r'name="sku" value="([^"]*)"', removed) == ["FILTER", "BOOK"]
    # 916.13 + 25 % (229.0325 -> 229.03) + 590.00 + 6 % (35.40)
    assert 'data-testid="total-gross">1,770.56\u00a0SEK' in removed


def test_lines_endpoint_shows_a_bad_number_on_its_line(sales_client, customer, catalogue):
    page = html(
        sales_client.post(
            "/orders/new/lines/", {"customer": customer.pk, "sku": ["BOOK", "FILTER"], "quantity": ["x", "1,5"]}
        )
    )
    assert 'data-field="lines[0].quantity">Enter a number.' in line_row(page, 0)
    assert 'data-testid="line-net">523.50\u00a0SEK' in line_row(page, 1)  # "1,5" as typed in Swedish
    assert 'data-testid="total-gross">654.38\u00a0SEK' in page  # 523.50 + 130.875 -> 130.88


def test_lines_endpoint_needs_the_csrf_token(sales, company, customer, catalogue):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales)
    assert client.post("/orders/new/lines/", {"customer": customer.pk, **LINES}).status_code == 403
    page = html(client.get("/orders/new/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post("/orders/new/lines/", {"customer": customer.pk, **LINES}, headers={"X-CSRFToken": token})
    assert response.status_code == 200


def test_customer_search_shows_blocked_customers_as_not_selectable(sales_client, company):
    CustomerFactory(number="30001", name="Bygg Nord AB", billing_city="Luleå")
    blocked = CustomerFactory(number="30002", name="Bygg Syd AB", billing_city="Malmö", status="blocked")
    CustomerFactory(number="30003", name="Måleri Väst AB")

    page = html(sales_client.get("/orders/new/customers/", {"customer_q": "bygg"}))

    rows = re.findall(r'<tr data-testid="customer-result".*?</tr>', page, re.S)
    assert len(rows) == 2
    nord, syd = rows
    assert "30001" in nord and "Luleå" in nord and "Choose" in nord
    assert "30002" in syd and "Blocked" in syd and "Choose" not in syd and 'aria-disabled="true"' in syd
    chosen = sales_client.get(f"/orders/new/customers/{blocked.pk}/")
    assert 'name="customer"' not in html(chosen)


def test_choosing_a_customer_gives_the_form_its_customer(sales_client, customer):
    response = sales_client.get(f"/orders/new/customers/{customer.pk}/")
    assert f'<input type="hidden" name="customer" value="{customer.pk}">' in html(response)
    assert response["HX-Trigger"] == "customerChosen"


def test_product_search_shows_price_with_currency_and_no_stock_yet(sales_client, catalogue):
    ProductFactory(sku="HP-OLD", name="Gammal pump", is_active=False)
    page = html(sales_client.get("/orders/new/products/", {"product_q": "HP"}))
    rows = re.findall(r'<tr data-testid="product-result".*?</tr>', page, re.S)
    assert len(rows) == 1
    assert "HP-8" in rows[0] and "Värmepump" in rows[0] and "89,900.00\u00a0SEK" in rows[0]
    assert 'data-testid="available-stock">—<' in rows[0]


# Who may -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/orders/new/", "/orders/new/customers/?customer_q=a", "/orders/new/products/?product_q=a"]
)
def test_warehouse_may_not_enter_orders(client, company, path):
    client.force_login(user_with_role("warehouse"))
    assert client.get(path).status_code == 403
    assert client.post("/orders/new/lines/", {}).status_code == 403


# Every page of this UI against every role, like tests/common/test_permissions.py does for master
# data: (method, path, capability, data). Allowed roles get an answer, the others 403.
ORDER_PAGES = [
    ("get", "/orders/", "order.view", None),
    ("get", "/orders/new/", "order.create", None),
    ("post", "/orders/new/lines/", "order.create", {"add": "FILTER"}),
    ("get", "/orders/new/customers/", "order.create", {"customer_q": "1"}),
    ("get", "/orders/new/customers/{customer}/", "order.create", None),
    ("get", "/orders/new/products/", "order.create", {"product_q": "F"}),
    ("get", "/orders/{order}/", "order.view", None),
    ("post", "/orders/{order}/cancel/", "order.cancel", {"cancel-reason": "test"}),
    ("post", "/orders/{order}/holds/", "order.hold", {"hold-reason": "test"}),
    ("post", "/orders/holds/{hold}/met/", "order.hold", {"hold{hold}-note": "test"}),
    ("post", "/credit/orders/{held}/release/", "credit.release", {"note": "test"}),
]


@pytest.mark.parametrize(
    ("row", "role"),
    [pytest.param(row, role, id=f"{role.value}-{row[0]}-{row[1]}") for row in ORDER_PAGES for role in Role],
)
def test_order_pages_check_the_role(client, sales, customer, catalogue, row, role):
    order = place_order(customer, sales)
    hold = services.order_hold_add(order=order, reason="Wait", actor=sales)
    held = place_order(CustomerFactory(credit_limit=Decimal("0")), sales, submit=True)
    records = {"customer": customer.pk, "order": order.pk, "hold": hold.pk, "held": held.pk}
    method, path, capability, data = row
    data = {key.format(**records): value for key, value in (data or {}).items()}
    client.force_login(user_with_role(role))

    response = getattr(client, method)(path.format(**records), data)

    if role in CAPABILITIES[capability]:
        assert response.status_code in (200, 302), response.status_code
    else:
        assert response.status_code == 403


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/orders/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_only_finance_releases_a_credit_hold(client, sales, company, catalogue):
    customer = CustomerFactory(credit_limit=Decimal("0"))
    order = place_order(customer, sales, submit=True)
    assert order.status == OrderStatus.CREDIT_HOLD

    client.force_login(sales)
    assert "credit-release-form" not in html(client.get(f"/orders/{order.pk}/"))
    assert client.post(f"/credit/orders/{order.pk}/release/", {"note": "Paid up front"}).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.CREDIT_HOLD

    client.force_login(user_with_role("finance"))
    assert "credit-release-form" in html(client.get(f"/orders/{order.pk}/"))
    response = client.post(f"/credit/orders/{order.pk}/release/", {"note": "Paid up front"}, follow=True)
    order.refresh_from_db()
    assert order.status in ACCEPTED
    assert "Paid up front" in html(response)  # on the timeline


# The list ---------------------------------------------------------------------------------------


@pytest.fixture
def orders(sales, company, catalogue):
    """Four orders of three customers, two reps and two channels."""
    other_rep = user_with_role("sales", "bertil")
    alfa = CustomerFactory(number="40001", name="Alfa Bygg AB", credit_limit=Decimal("1000000"))
    beta = CustomerFactory(number="40002", name="Beta El AB", credit_limit=Decimal("1000000"))
    gamma = CustomerFactory(number="40003", name="Gamma VVS AB", credit_limit=Decimal("0"))
    return {
        "alfa_small": place_order(alfa, sales, [("FILTER", "1")]),
        "alfa_big": place_order(alfa, sales, [("HP-8", "1")], submit=True),
        "beta": place_order(
            beta, other_rep, [("BOOK", "3")], sales_rep=other_rep, channel="webshop", external_reference="WS-991"
        ),
        "gamma": place_order(gamma, sales, [("FILTER", "2")], submit=True, customer_reference="Projekt Ek"),
    }


def listed(client, **params) -> list[int]:
    response = client.get("/orders/", params)
    assert response.status_code == 200
    return [order.number for order in response.context["rows"]]


def test_list_shows_newest_first_with_status_badges_and_money(sales_client, orders):
    response = sales_client.get("/orders/")
    assert listed(sales_client) == sorted((o.number for o in orders.values()), reverse=True)
    page = html(response)
    assert '<span class="badge credit_hold">Credit hold</span>' in page
    alfa_big = Order.objects.get(pk=orders["alfa_big"].pk)
    assert alfa_big.status in ACCEPTED
    assert f'<span class="badge {alfa_big.status}">{alfa_big.get_status_display()}</span>' in page
    assert "112,375.00\u00a0SEK" in page  # HP-8: 89 900.00 + 22 475.00


def test_list_filters_and_search(sales_client, orders):
    number = {name: order.number for name, order in orders.items()}
    assert listed(sales_client, status="draft") == [number["beta"], number["alfa_small"]]
    accepted = [*ACCEPTED, OrderStatus.CREDIT_HOLD]
    assert listed(sales_client, status=accepted) == [number["gamma"], number["alfa_big"]]
    assert listed(sales_client, customer="40001") == [number["alfa_big"], number["alfa_small"]]
    assert listed(sales_client, sales_rep="bertil") == [number["beta"]]
    assert listed(sales_client, channel="webshop") == [number["beta"]]
    assert listed(sales_client, q="beta el") == [number["beta"]]
    assert listed(sales_client, q="WS-991") == [number["beta"]]
    assert listed(sales_client, q="projekt") == [number["gamma"]]
    assert listed(sales_client, q=str(number["alfa_big"])) == [number["alfa_big"]]
    today = timezone.localdate()
    assert len(listed(sales_client, order_date_from=today.isoformat(), order_date_to=today.isoformat())) == 4
    assert listed(sales_client, order_date_from=(today + datetime.timedelta(days=1)).isoformat()) == []


def test_list_sorts_by_its_columns(sales_client, orders):
    number = {name: order.number for name, order in orders.items()}
    by_total = [number["alfa_small"], number["gamma"], number["beta"], number["alfa_big"]]
    assert listed(sales_client, sort="total") == by_total
    assert listed(sales_client, sort="-total") == by_total[::-1]
    assert listed(sales_client, sort="customer")[:2] == [number["alfa_small"], number["alfa_big"]]
    assert listed(sales_client, sort="number") == sorted(number.values())
    assert listed(sales_client, sort="not-a-column") == sorted(number.values(), reverse=True)


def test_list_paginates(sales_client, sales, customer, catalogue):
    for _ in range(27):
        place_order(customer, sales)
    first = sales_client.get("/orders/")
    assert len(first.context["rows"]) == 25
    assert "Page 1 of 2" in html(first)
    assert len(sales_client.get("/orders/", {"page": 2}).context["rows"]) == 2


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_list_queries_do_not_grow_with_rows(sales_client, sales, catalogue, company):
    for _ in range(3):
        place_order(CustomerFactory(), sales)
    few = count_queries(sales_client, "/orders/")
    for index in range(12):
        place_order(CustomerFactory(), user_with_role("sales", f"rep{index}"), submit=True)
    assert count_queries(sales_client, "/orders/") == few


def test_order_page_queries_do_not_grow_with_lines_holds_or_events(sales_client, sales, customer, catalogue):
    small = place_order(customer, sales, [("FILTER", "1")])
    services.order_hold_add(order=small, reason="Wait", actor=sales)
    big = place_order(customer, sales, [("FILTER", "1"), ("BOOK", "2"), ("HP-8", "1")] * 4, submit=True)
    for reason in ("A", "B", "C"):
        hold = services.order_hold_add(order=big, reason=reason, actor=sales)
    services.order_hold_satisfy(hold=hold, note="Done", actor=sales)
    services.order_hold_add(order=big, reason="Installer", actor=sales, kind=HoldKind.INSTALLER_BOOKED)
    assert count_queries(sales_client, f"/orders/{big.pk}/") == count_queries(sales_client, f"/orders/{small.pk}/")


# The order page ---------------------------------------------------------------------------------


def test_order_page_shows_head_lines_totals_timeline_and_history(sales_client, sales, customer, catalogue):
    order = place_order(
        customer,
        sales,
        [("HP-8", "1"), ("FILTER", "3"), ("BOOK", "2")],
        submit=True,
        channel="webshop",
        external_reference="WS-1001",
    )
    page = html(sales_client.get(f"/orders/{order.pk}/"))
    assert f"Order {order.number}" in page
    order.refresh_from_db()
    status = f'<span class="badge {order.status}" data-testid="order-status">{order.get_status_display()}</span>'
    assert status in page
    assert "Web shop" in page and 'data-testid="external-reference">WS-1001<' in page
    assert f"{customer.number} {customer.name}" in page
    assert "anna" in page
    # 89 900.00 + 1 047.00 at 25 % -> VAT 22 736.75; 590.00 at 6 % -> 35.40
    assert re.findall(r'data-testid="vat-amount">([^<]*)<', page) == ["22,736.75\u00a0SEK", "35.40\u00a0SEK"]
    assert 'data-testid="total-gross">114,309.15\u00a0SEK' in page
    events = re.findall(r'<li data-event="([^"]+)"', page)
    assert events[:3] == ["order.created", "order.submitted", "order.confirmed"]
    assert "Within credit limit" in page
    assert 'data-testid="audit-trail"' in page and "Created" in page


def test_missing_order_is_404(sales_client):
    assert sales_client.get("/orders/999999/").status_code == 404


def test_cancel_needs_a_reason_and_then_cancels(sales_client, sales, customer, catalogue):
    order = place_order(customer, sales, submit=True)
    assert 'data-testid="cancel-form"' in html(sales_client.get(f"/orders/{order.pk}/"))

    response = sales_client.post(f"/orders/{order.pk}/cancel/", {"cancel-reason": " "})
    assert response.status_code == 400
    assert 'data-field="reason">' in html(response)
    order.refresh_from_db()
    assert order.status in ACCEPTED

    response = sales_client.post(f"/orders/{order.pk}/cancel/", {"cancel-reason": "Customer changed their mind"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "Customer changed their mind")
    page = html(sales_client.get(f"/orders/{order.pk}/"))
    assert 'data-testid="cancel-form"' not in page  # no longer cancellable
    assert 'data-testid="hold-form"' not in page


def test_warehouse_sees_the_order_but_cannot_cancel_or_hold(client, sales, customer, catalogue):
    order = place_order(customer, sales)
    client.force_login(user_with_role("warehouse"))
    page = html(client.get(f"/orders/{order.pk}/"))
    assert 'data-testid="cancel-form"' not in page and 'data-testid="hold-form"' not in page
    assert client.post(f"/orders/{order.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert client.post(f"/orders/{order.pk}/holds/", {"reason": "x"}).status_code == 403


def test_manual_hold_added_then_its_condition_met(sales_client, sales, customer, catalogue):
    order = place_order(customer, sales, submit=True)

    response = sales_client.post(f"/orders/{order.pk}/holds/", {"hold-reason": "Awaiting site survey"})
    assert response.status_code == 302
    hold = order.holds.get()
    assert (hold.kind, hold.reason, hold.is_open) == (HoldKind.MANUAL, "Awaiting site survey", True)
    page = html(sales_client.get(f"/orders/{order.pk}/"))
    assert page.count('data-testid="open-hold"') == 1

    response = sales_client.post(f"/orders/holds/{hold.pk}/met/", {f"hold{hold.pk}-note": ""})
    assert response.status_code == 400
    hold.refresh_from_db()
    assert hold.is_open

    response = sales_client.post(f"/orders/holds/{hold.pk}/met/", {f"hold{hold.pk}-note": "Survey done"})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert (hold.is_open, hold.satisfied_note, hold.satisfied_by) == (False, "Survey done", sales)
    page = html(sales_client.get(f"/orders/{order.pk}/"))
    assert 'data-testid="open-hold"' not in page and 'data-testid="met-hold"' in page
    assert re.findall(r'<li data-event="(order\.hold_[a-z]+)"', page) == ["order.hold_added", "order.hold_satisfied"]


def test_orders_come_first_in_the_menu(sales_client):
    items = sales_client.get("/").context["nav_items"]
    assert str(items[0]["label"]) == "Orders"
    assert items[0]["url"] == "/orders/"
