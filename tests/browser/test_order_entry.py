"""A sales rep enters an order in the browser: customer search, three lines at two VAT rates, live
totals from the server, submit, and the order page shows the same amounts."""

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from o2c.common.roles import Role
from orders.models import Order, OrderStatus, VatCategory, VatRate
from tests.browser.conftest import login
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.browser


def vat_category(code: str, name: str, rate: str) -> VatCategory:
    """The flush after an earlier transactional test takes migration orders/0002's rows with it
    (see conftest.py), so make the categories the test needs; get_or_create for the first test of a
    session, which still finds them."""
    category, _ = VatCategory.objects.get_or_create(
        country="SE", code=code, defaults={"name": name, "uncl5305_code": "S"}
    )
    if not category.rates.exists():
        VatRate.objects.create(category=category, rate=Decimal(rate), valid_from=datetime.date(2002, 1, 1))
    return category


@pytest.fixture
def catalogue(company):
    standard = vat_category("standard", "Standard 25 %", "25")
    culture = vat_category("reduced_culture", "Books, transport, culture 6 %", "6")
    ProductFactory(sku="HP-8", name="Värmepump", unit_price=Decimal("89900.00"), vat_category=standard)
    ProductFactory(sku="FILTER", name="Filter", unit_price=Decimal("349.00"), vat_category=standard)
    ProductFactory(sku="BOOK", name="Handbok", unit_price=Decimal("295.00"), vat_category=culture)


# Worked out by hand, amounts as the English UI prints them (Playwright reads the no-break space
# between amount and currency as a space):
#   HP-8    1 × 89 900.00          = 89,900.00  25 %
#   FILTER  3 × 349.00 less 12.5 % =    916.13  25 %  (916.125, half up)
#   BOOK    2 × 295.00             =    590.00   6 %
#   VAT 25 % on 90,816.13 = 22,704.0325 -> 22,704.03;  VAT 6 % on 590.00 = 35.40
NETS = ["89,900.00 SEK", "916.13 SEK", "590.00 SEK"]
VAT_ROWS = ["22,704.03 SEK", "35.40 SEK"]
NET, VAT, GROSS = "91,406.13 SEK", "22,739.43 SEK", "114,145.56 SEK"


def expect_totals(area, *, nets=NETS, vat_rows=VAT_ROWS, net=NET, vat=VAT, gross=GROSS):
    expect(area.get_by_test_id("line-net")).to_have_text(nets)
    expect(area.get_by_test_id("vat-row")).to_have_count(len(vat_rows))
    expect(area.get_by_test_id("vat-amount")).to_have_text(vat_rows)
    expect(area.get_by_test_id("total-net")).to_have_text(net)
    expect(area.get_by_test_id("total-vat")).to_have_text(vat)
    expect(area.get_by_test_id("total-gross")).to_have_text(gross)


def test_sales_rep_enters_an_order_and_sees_the_totals(page, live_server, role_user, catalogue):
    CustomerFactory(
        number="10001", name="Fjällbacka Bygg AB", billing_city="Fjällbacka", credit_limit=Decimal("1000000.00")
    )
    CustomerFactory(
        number="10002",
        name="Fjällbacka Måleri AB",
        billing_city="Fjällbacka",
        status="blocked",
        blocked_reason="Unpaid invoices",
    )
    rep = role_user(Role.SALES)
    login(page, live_server, rep.username)

    menu = page.get_by_test_id("main-menu")
    expect(menu.locator("a").first).to_have_text("Orders")
    menu.get_by_role("link", name="Orders", exact=True).click()
    page.get_by_role("link", name="New", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/orders/new/")
    page.wait_for_load_state("load")  # htmx (a deferred script) listens from here on

    # The customer: the blocked one is listed as blocked and cannot be chosen.
    page.fill("#customer-q", "Fjällbacka")
    results = page.get_by_test_id("customer-result")
    expect(results).to_have_count(2)
    blocked = results.filter(has_text="Måleri")
    expect(blocked).to_contain_text("Blocked")
    expect(blocked.get_by_role("button")).to_have_count(0)
    results.filter(has_text="Bygg").get_by_role("button", name="Choose").click()
    expect(page.get_by_test_id("customer-chosen")).to_contain_text("10001 Fjällbacka Bygg AB")
    expect(page.get_by_test_id("customer-result")).to_have_count(0)

    # Three lines, added without reloading the page.
    lines = page.get_by_test_id("order-line")
    for count, sku in enumerate(["HP-8", "FILTER", "BOOK"], start=1):
        page.fill("#product-q", sku)
        result = page.locator(f'[data-testid=product-result][data-sku="{sku}"]')
        expect(result.get_by_test_id("available-stock")).to_have_text("—")
        result.get_by_role("button", name="Add").click()
        expect(lines).to_have_count(count)
    expect(lines.nth(2)).to_contain_text("Handbok")
    # A sales rep may not set prices: they are shown, not editable.
    expect(page.locator("#order-lines input[name=unit_price]")).to_have_count(0)
    expect(lines.nth(0).get_by_test_id("line-price")).to_have_text("89,900.00 SEK")

    # Quantities and a discount; each change is priced by the server.
    page.fill("#line-1-quantity", "3")
    page.press("#line-1-quantity", "Tab")
    expect(lines.nth(1).get_by_test_id("line-net")).to_have_text("1,047.00 SEK")
    settled(page)
    page.fill("#line-1-discount_percent", "12.5")
    page.press("#line-1-discount_percent", "Tab")
    expect(lines.nth(1).get_by_test_id("line-net")).to_have_text("916.13 SEK")
    settled(page)
    page.fill("#line-2-quantity", "2")
    page.press("#line-2-quantity", "Enter")  # Enter re-prices; it must not submit the order
    expect_totals(page.get_by_test_id("order-lines"))
    assert not Order.objects.exists()
    expect(page).to_have_url(f"{live_server.url}/orders/new/")

    page.fill("#id_customer_reference", "PO-4711")
    page.get_by_role("button", name="Submit order").click()

    page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}/orders/\d+/$"))
    order = Order.objects.get()
    assert page.url == f"{live_server.url}{order.get_absolute_url()}"
    assert order.status in {OrderStatus.CONFIRMED, OrderStatus.AWAITING_RELEASE}
    assert order.gross_amount == Decimal("114145.56")
    assert order.customer_reference == "PO-4711"
    expect(page.locator("main h1")).to_contain_text(f"Order {order.number}")
    expect(page.get_by_role("status")).to_have_text(f"Order {order.number} submitted.")
    expect_totals(page.locator("section").filter(has=page.get_by_test_id("totals")))
    expect(page.get_by_test_id("order-header")).to_contain_text("PO-4711")
    expect(page.get_by_test_id("timeline").locator("li").first).to_contain_text("Order entered")


def settled(page) -> None:
    """Wait until htmx has no request under way, as a person waits to see the new totals."""
    page.wait_for_function("() => document.querySelectorAll('.htmx-request').length === 0")


def test_a_service_error_lands_on_its_line_and_nothing_is_saved(page, live_server, role_user, catalogue):
    CustomerFactory(number="10001", name="Fjällbacka Bygg AB", credit_limit=Decimal("1000000.00"))
    rep = role_user(Role.SALES)
    login(page, live_server, rep.username)
    page.goto(f"{live_server.url}/orders/new/")
    page.fill("#customer-q", "10001")
    page.get_by_role("button", name="Choose").click()
    for sku in ["FILTER", "BOOK"]:
        page.fill("#product-q", sku)
        page.locator(f'[data-testid=product-result][data-sku="{sku}"]').get_by_role("button", name="Add").click()
    lines = page.get_by_test_id("order-line")
    expect(lines).to_have_count(2)

    page.fill("#line-1-quantity", "0")
    page.get_by_role("button", name="Save as draft").click()

    error = lines.nth(1).locator('p.error[data-field="lines[1].quantity"]')
    expect(error).to_have_text("The quantity must be more than 0.")
    expect(page.locator("p.error[data-field]")).to_have_count(1)
    expect(page.get_by_test_id("customer-chosen")).to_contain_text("10001 Fjällbacka Bygg AB")
    assert not Order.objects.exists()

    page.fill("#line-1-quantity", "2")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}/orders/\d+/$"))
    order = Order.objects.get()
    assert order.status == OrderStatus.DRAFT
    # FILTER 349.00 + 87.25 VAT; BOOK 2 × 295.00 = 590.00 + 35.40 VAT
    assert order.gross_amount == Decimal("1061.65")
    expect(page.get_by_test_id("total-gross")).to_have_text("1,061.65 SEK")
