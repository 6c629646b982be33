"""Finance enters a customer through the form: a bad organisation number is refused, then corrected."""

import re

import pytest
from playwright.sync_api import expect

from o2c.common.roles import Role
from orders.models import Customer
from tests.browser.conftest import login

pytestmark = pytest.mark.browser

BAD_ORG_NUMBER = "5560360794"  # wrong check digit
GOOD_ORG_NUMBER = "5560360793"
VAT_NUMBER = "SE556036079301"


# No VAT categories needed: a customer has none, and the company fixture builds its own row. (The
# VAT categories from migration orders/0002 would be gone here anyway - see conftest.py.)
def test_finance_creates_a_customer_after_fixing_the_org_number(page, live_server, role_user, company):
    user = role_user(Role.FINANCE)
    login(page, live_server, user.username)

    page.get_by_test_id("main-menu").get_by_role("link", name="Customers", exact=True).click()
    page.get_by_role("link", name="New", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/customers/new/")

    page.fill("#id_name", "Exempelbolaget AB")
    page.fill("#id_org_number", BAD_ORG_NUMBER)
    page.fill("#id_vat_number", VAT_NUMBER)
    page.fill("#id_billing_street", "Storgatan 1")
    page.fill("#id_billing_postal_code", "111 22")
    page.fill("#id_billing_city", "Stockholm")
    page.get_by_role("button", name="Save").click()

    org_error = page.locator("p.error[data-field=org_number]")
    expect(org_error).to_be_visible()
    expect(org_error).not_to_be_empty()
    # The error sits in the org number's own field box, and it is the only field with an error.
    expect(page.locator(".field.has-error #id_org_number")).to_have_count(1)
    expect(page.locator("p.error[data-field]")).to_have_count(1)
    expect(page).to_have_url(f"{live_server.url}/customers/new/")
    # What was typed survives the round trip.
    expect(page.locator("#id_name")).to_have_value("Exempelbolaget AB")
    expect(page.locator("#id_org_number")).to_have_value(BAD_ORG_NUMBER)
    assert Customer.objects.count() == 0

    page.fill("#id_org_number", GOOD_ORG_NUMBER)
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}/customers/\d+/$"))
    customer = Customer.objects.get()
    assert page.url == f"{live_server.url}{customer.get_absolute_url()}"
    assert customer.name == "Exempelbolaget AB"
    assert customer.vat_number == VAT_NUMBER
    assert re.sub(r"\D", "", customer.org_number) == GOOD_ORG_NUMBER

    expect(page.locator("main h1")).to_contain_text("Exempelbolaget AB")
    trail = page.get_by_test_id("audit-trail")
    expect(trail).to_be_visible()
    created = trail.locator("tbody tr").filter(has_text="Created")
    expect(created).to_have_count(1)
    expect(created).to_contain_text(user.username)
