"""The returns pages (authorise and receive RMAs) and cancelling a backorder from the order page."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from fulfilment import services
from fulfilment.models import LineCancellation, ReturnAuthorization, ReturnStatus, StockItem, StockMove
from fulfilment.services import shipping
from orders.models import OrderStatus
from tests.factories import CustomerFactory, ProductFactory, user_with_role
from tests.fulfilment.test_shipping import order_for, pick_all, release, ship
from tests.fulfilment.test_views_shipping import count_queries


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
    for product in (pump, filt):
        services.stock_receive(product=product, quantity=Decimal(50), actor=None)
    return pump, filt


def shipped(worker, *lines, customer=None):
    order = order_for(*lines, customer=customer)
    pick_list = release(order)
    pick_all(pick_list, worker)
    ship(shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal(3)], actor=worker), worker)
    order.refresh_from_db()
    return order


def on_hand(product) -> Decimal:
    return StockItem.objects.get(product=product).on_hand


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_authorise_and_receive_a_return_through_the_pages(warehouse_client, goods, worker):
    pump, filt = goods
    order = shipped(worker, (pump, "3"), (filt, "4"))
    pump_line, filter_line = order.lines.order_by("position")
    page = warehouse_client.get(order.get_absolute_url()).content.decode()
    assert f'href="/warehouse/orders/{order.pk}/return/"' in page  # the order page's "New return"

    url = f"/warehouse/orders/{order.pk}/return/"
    page = warehouse_client.get(url).content.decode()
    assert page.count('data-testid="return-create-line"') == 2
    response = warehouse_client.post(
        url, {f"quantity-{pump_line.pk}": "2", f"quantity-{filter_line.pk}": "", "reason": "Wrong model"}
    )

    rma = ReturnAuthorization.objects.get(order=order)
    assert response["Location"] == f"/warehouse/returns/{rma.pk}/"
    assert (rma.number, rma.status, rma.reason) == (f"RMA-{order.number}-1", ReturnStatus.OPEN, "Wrong model")
    assert [(line.order_line_id, line.quantity) for line in rma.lines.all()] == [(pump_line.pk, Decimal(2))]
    page = warehouse_client.get(url).content.decode()  # what is left to authorise
    assert '<td class="num">3</td>\n      <td class="num">2</td>\n      <td class="num">1</td>' in page

    return_line = rma.lines.get()
    page = warehouse_client.get(f"/warehouse/returns/{rma.pk}/").content.decode()
    assert f'name="restock-{return_line.pk}"' in page and "ready for a credit note" not in page
    response = warehouse_client.post(
        f"/warehouse/returns/{rma.pk}/", {f"restock-{return_line.pk}": "1", f"scrap-{return_line.pk}": "1"}
    )

    assert response["Location"] == f"/warehouse/returns/{rma.pk}/"
    assert texts(response) == [f"Return {rma.number} is received and ready for a credit note."]
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.RECEIVED
    return_line.refresh_from_db()
    assert (return_line.restock_quantity, return_line.scrap_quantity) == (Decimal(1), Decimal(1))
    assert on_hand(pump) == Decimal(48)  # 50 - 3 shipped + 1 back on the shelf; the scrapped one is not
    moves = StockMove.objects.filter(stock_item__product=pump, kind__in=["return", "scrap"]).order_by("id")
    assert [(m.kind, m.on_hand_change, m.reference) for m in moves] == [
        ("return", Decimal(1), rma.number),
        ("scrap", Decimal(0), rma.number),
    ]
    page = warehouse_client.get(f"/warehouse/returns/{rma.pk}/").content.decode()
    assert 'data-testid="ready-for-credit-note"' in page and "return-receive-form" not in page
    response = warehouse_client.post(f"/warehouse/returns/{rma.pk}/", {f"restock-{return_line.pk}": "1"})
    assert texts(response) == [f"Return {rma.number} is already received."]
    assert on_hand(pump) == Decimal(48)


def test_authorise_errors_land_on_their_fields_and_save_nothing(warehouse_client, goods, worker):
    pump, filt = goods
    order = shipped(worker, (pump, "3"), (filt, "4"))
    pump_line, filter_line = order.lines.order_by("position")
    url = f"/warehouse/orders/{order.pk}/return/"

    response = warehouse_client.post(
        url, {f"quantity-{pump_line.pk}": "1", f"quantity-{filter_line.pk}": "5", "reason": "Wrong model"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f'<p class="error" data-field="quantity-{filter_line.pk}">Return between 0 and 4 of line 2.</p>' in page
    assert f'data-field="quantity-{pump_line.pk}"' not in page

    response = warehouse_client.post(url, {f"quantity-{pump_line.pk}": "1", "reason": " "})
    assert response.status_code == 400
    assert '<p class="error" data-field="reason">Say why the goods come back.</p>' in response.content.decode()

    response = warehouse_client.post(url, {f"quantity-{pump_line.pk}": "0", "reason": "Wrong model"})
    assert response.status_code == 400
    assert "Choose what comes back." in response.content.decode()

    response = warehouse_client.post(url, {f"quantity-{pump_line.pk}": "many", "reason": "Wrong model"})
    assert response.status_code == 400
    assert f'data-field="quantity-{pump_line.pk}">Enter a number.' in response.content.decode()
    assert not ReturnAuthorization.objects.exists()


def test_receive_errors_land_on_the_line_and_save_nothing(warehouse_client, goods, worker):
    pump, filt = goods
    order = shipped(worker, (pump, "3"), (filt, "4"))
    pump_line, filter_line = order.lines.order_by("position")
    rma = shipping.return_authorize(
        order=order, lines=[(pump_line, Decimal(2)), (filter_line, Decimal(4))], reason="Damaged", actor=worker
    )
    pump_return, filter_return = rma.lines.order_by("order_line__position")
    url = f"/warehouse/returns/{rma.pk}/"

    response = warehouse_client.post(
        url,
        {
            f"restock-{pump_return.pk}": "2",
            f"scrap-{pump_return.pk}": "0",
            f"restock-{filter_return.pk}": "3",
            f"scrap-{filter_return.pk}": "2",
        },
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert (
        f'<p class="error" data-field="restock-{filter_return.pk}">Restock and scrap together between 0 and 4.</p>'
        in page
    )
    assert f'data-field="restock-{pump_return.pk}"' not in page
    response = warehouse_client.post(url, {f"restock-{pump_return.pk}": "0", f"restock-{filter_return.pk}": ""})
    assert response.status_code == 400
    assert 'data-testid="form-error"' in response.content.decode()
    assert "Nothing came back." in response.content.decode()
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.OPEN
    assert not StockMove.objects.filter(kind__in=["return", "scrap"]).exists()
    assert (on_hand(pump), on_hand(filt)) == (Decimal(47), Decimal(46))


def test_the_returns_list_filters_searches_and_opens_an_order_by_number(warehouse_client, goods, worker):
    pump, _filt = goods
    first, second = shipped(worker, (pump, "2")), shipped(worker, (pump, "2"))
    open_rma = shipping.return_authorize(
        order=first, lines=[(first.lines.get(), Decimal(1))], reason="Too many", actor=worker
    )
    received = shipping.return_authorize(
        order=second, lines=[(second.lines.get(), Decimal(1))], reason="Broken", actor=worker
    )
    shipping.return_receive(rma=received, lines=[(received.lines.get(), Decimal(0), Decimal(1))], actor=worker)

    def listed(query: str = "") -> list[str]:
        page = warehouse_client.get(f"/warehouse/returns/{query}").content.decode()
        return sorted(number for number in (open_rma.number, received.number) if f'data-rma="{number}"' in page)

    assert listed() == sorted([open_rma.number, received.number])
    assert listed("?status=open") == [open_rma.number]
    assert listed("?status=received") == [received.number]
    assert listed("?status=closed") == []
    assert listed(f"?q={second.number}") == [received.number]
    assert listed(f"?q={open_rma.number.lower()}") == [open_rma.number]
    page = warehouse_client.get("/warehouse/returns/").content.decode()
    assert 'data-testid="tab-returns"' in page and 'aria-current="page" data-testid="tab-returns"' in page

    response = warehouse_client.get("/warehouse/returns/new/", {"order": str(first.number)})
    assert response["Location"] == f"/warehouse/orders/{first.pk}/return/"
    response = warehouse_client.get("/warehouse/returns/new/", {"order": "999999"})
    assert response["Location"] == "/warehouse/returns/"
    assert texts(response) == ["No order 999999."]


def test_cancel_the_backordered_rest_from_the_order_page(
    warehouse_client, worker, mailoutbox, django_capture_on_commit_callbacks
):
    scarce = ProductFactory(sku="SCARCE")
    services.stock_receive(product=scarce, quantity=Decimal(5), actor=None)
    customer = CustomerFactory(credit_limit=Decimal("10000000"), invoice_email="faktura@kund.se", language="en")
    order = shipped(worker, (scarce, "7"), customer=customer)
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    line = order.lines.get()
    page = warehouse_client.get(order.get_absolute_url()).content.decode()
    assert 'data-testid="line-cancel-form"' in page
    assert f'action="/warehouse/order-lines/{line.pk}/cancel/"' in page
    url = f"/warehouse/order-lines/{line.pk}/cancel/"

    with django_capture_on_commit_callbacks(execute=True):
        response = warehouse_client.post(url, {"reason": " ", "next": order.get_absolute_url()})
    assert response["Location"] == order.get_absolute_url()
    assert texts(response) == ["Line 1 is not cancelled: Say why the line is cancelled."]
    assert not LineCancellation.objects.exists() and mailoutbox == []
    page = warehouse_client.get(order.get_absolute_url()).content.decode()  # the order page shows the refusal
    assert "Line 1 is not cancelled: Say why the line is cancelled." in page

    with django_capture_on_commit_callbacks(execute=True):
        response = warehouse_client.post(url, {"reason": "Discontinued by the maker", "next": order.get_absolute_url()})

    assert response["Location"] == order.get_absolute_url()
    assert texts(response) == [
        f"Cancelled 2 of line 1 (SCARCE); order {order.number} is now shipped. "
        "The customer is told by e-mail at faktura@kund.se."
    ]
    assert LineCancellation.objects.get(order_line=line).quantity == Decimal(2)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert [m.to for m in mailoutbox] == [["faktura@kund.se"]]
    assert "Discontinued by the maker" in mailoutbox[0].body
    page = warehouse_client.get(order.get_absolute_url()).content.decode()
    assert 'data-testid="line-cancel-form"' not in page

    response = warehouse_client.post(url, {"reason": "Again", "next": "https://evil.example/"})
    assert response["Location"] == order.get_absolute_url()  # never off-site
    assert texts(response) == ["Line 1 is not cancelled: Line 1 has nothing left to ship."]
    assert len(mailoutbox) == 1


def test_sales_gets_403_on_every_returns_page(client, goods, worker, mailoutbox):
    pump, _filt = goods
    order = shipped(worker, (pump, "2"))
    line = order.lines.get()
    rma = shipping.return_authorize(order=order, lines=[(line, Decimal(1))], reason="Too many", actor=worker)
    return_line = rma.lines.get()
    client.force_login(user_with_role("sales"))
    for url in (
        "/warehouse/returns/",
        f"/warehouse/returns/new/?order={order.number}",
        f"/warehouse/orders/{order.pk}/return/",
        f"/warehouse/returns/{rma.pk}/",
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(f"/warehouse/orders/{order.pk}/return/", {f"quantity-{line.pk}": "1", "reason": "x"}).status_code
        == 403
    )
    posted = client.post(f"/warehouse/returns/{rma.pk}/", {f"restock-{return_line.pk}": "1"})
    assert posted.status_code == 403
    assert client.post(f"/warehouse/order-lines/{line.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert ReturnAuthorization.objects.count() == 1
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.OPEN
    assert not LineCancellation.objects.exists()
    page = client.get(order.get_absolute_url()).content.decode()
    assert 'data-testid="order-shipments"' in page and 'data-testid="new-return"' not in page


def test_returns_list_queries_do_not_grow_with_rows(warehouse_client, goods, worker):
    pump, _filt = goods

    def add_rows():
        order = shipped(worker, (pump, "2"))
        rma = shipping.return_authorize(order=order, lines=[(order.lines.get(), Decimal(2))], reason="x", actor=worker)
        shipping.return_receive(rma=rma, lines=[(rma.lines.get(), Decimal(1), Decimal(1))], actor=worker)
        other = shipped(worker, (pump, "1"))
        shipping.return_authorize(order=other, lines=[(other.lines.get(), Decimal(1))], reason="y", actor=worker)

    add_rows()
    few = count_queries(warehouse_client, "/warehouse/returns/")
    for _ in range(4):
        add_rows()
    assert count_queries(warehouse_client, "/warehouse/returns/") == few
