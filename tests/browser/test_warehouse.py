"""A warehouse worker picks an order by scanning SKUs, packs it in two packages, ships it with a
tracking number, and the order page shows the tracking number."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fulfilment import services
from fulfilment.models import PickList, Shipment, StockItem
from o2c.common.roles import Role
from orders import services as order_services
from orders.migrations import _seed
from orders.models import OrderStatus
from orders.services import LineInput
from tests.browser.conftest import login
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def released_order(transactional_db):
    _seed.vat()  # the flush after an earlier transactional test removed the seeded VAT rows
    pump, filt = ProductFactory(sku="HP-8", name="Värmepump"), ProductFactory(sku="FILTER", name="Filter")
    for product, bin_location in ((pump, "B-02-1"), (filt, "A-01-1")):
        services.stock_receive(product=product, quantity=Decimal(10), actor=None)
        services.stock_count(product=product, counted=Decimal(10), actor=None, bin_location=bin_location)
    order = order_services.order_create(
        customer=CustomerFactory(credit_limit=Decimal("10000000")),
        actor=None,
        lines=[LineInput(sku="HP-8", quantity=Decimal(1)), LineInput(sku="FILTER", quantity=Decimal(2))],
    )
    services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=1))
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED
    return order


def test_warehouse_picks_by_scanning_packs_two_packages_and_ships(page, live_server, role_user, released_order):
    order = released_order
    worker = role_user(Role.WAREHOUSE)
    login(page, live_server, worker.username)

    page.get_by_test_id("main-menu").get_by_role("link", name="Warehouse", exact=True).click()
    expect(page.get_by_test_id("tab-pick")).to_contain_text("1")
    # Scanning the order number on the queue opens its pick list.
    page.get_by_test_id("order-scan").fill(str(order.number))
    page.get_by_test_id("order-scan").press("Enter")
    pick_list = PickList.objects.get(order=order)
    page.wait_for_url(f"{live_server.url}/warehouse/pick-lists/{pick_list.pk}/")
    lines = page.get_by_test_id("pick-line")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("A-01-1")  # sorted by bin for the walk
    expect(lines.nth(1)).to_contain_text("B-02-1")

    # A scanner types the code and presses Enter; the input keeps the focus for the next scan.
    for code in ["FILTER", "HP-8", "FILTER"]:
        scan = page.get_by_test_id("scan")
        expect(scan).to_be_focused()
        scan.fill(code)
        scan.press("Enter")
        page.wait_for_load_state()
    expect(page.locator('[data-sku="FILTER"] [data-testid=picked]')).to_have_value("2")
    expect(page.locator('[data-sku="HP-8"] [data-testid=picked]')).to_have_value("1")
    page.get_by_test_id("scan").fill("NOPE")
    page.get_by_test_id("scan").press("Enter")
    expect(page.get_by_test_id("pick-error")).to_contain_text("NOPE is neither a SKU")
    expect(page.locator('[data-sku="FILTER"] [data-testid=picked]')).to_have_value("2")
    page.get_by_role("button", name="Confirm picked").click()

    # Pack in two packages.
    page.wait_for_url(f"{live_server.url}/warehouse/pick-lists/{pick_list.pk}/pack/")
    page.get_by_test_id("package-weight").nth(0).fill("12.5")
    page.get_by_test_id("add-package").click()
    expect(page.get_by_test_id("package-weight")).to_have_count(2)
    page.get_by_test_id("package-weight").nth(1).fill("3")
    page.get_by_role("button", name="Pack", exact=True).last.click()

    shipment = Shipment.objects.get(order=order)
    page.wait_for_url(f"{live_server.url}/warehouse/shipments/{shipment.pk}/")
    expect(page.get_by_test_id("shipment-package")).to_have_count(2)
    page.get_by_label("Carrier").fill("PostNord")
    page.get_by_label("Tracking number").fill("JJSE00012345678")
    page.get_by_role("button", name="Ship", exact=True).click()

    page.wait_for_url(re.compile(r".*/warehouse/\?tab=shipped$"))
    expect(page.get_by_role("status")).to_contain_text("JJSE00012345678")
    expect(page.get_by_test_id("tracking-number")).to_have_text("JJSE00012345678")
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert StockItem.objects.get(product__sku="FILTER").on_hand == Decimal(8)

    page.get_by_role("link", name=str(order.number)).click()
    page.wait_for_url(f"{live_server.url}{order.get_absolute_url()}")
    expect(page.get_by_test_id("order-status")).to_have_text("Shipped")
    expect(page.get_by_test_id("order-tracking-number")).to_have_text("JJSE00012345678")
