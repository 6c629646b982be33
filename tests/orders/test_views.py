import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from o2c.common.models import AuditEntry
from orders.models import Customer, Product
from tests.factories import CustomerFactory, ProductFactory, user_with_role

FORM = {
    "name": "Fjällbacka Bygg AB",
    "country": "SE",
    "org_number": "5560360793",
    "vat_number": "SE556036079301",
    "billing_street": "Storgatan 1",
    "billing_postal_code": "457 40",
    "billing_city": "Fjällbacka",
    "language": "sv",
    "currency": "SEK",
    "payment_terms_days": "30",
    "early_payment_discount_percent": "0",
    "early_payment_discount_days": "0",
    "credit_limit": "10000",
    "invoicing_period": "shipment",
}


@pytest.fixture
def finance_client(client, company):
    client.force_login(user_with_role("finance"))
    return client


def test_create_customer_through_the_form(finance_client):
    response = finance_client.post("/customers/new/", FORM)
    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"
    page = finance_client.get(response["Location"]).content.decode()
    assert "556036-0793" in page
    assert "Created" in page  # the audit trail on the record's page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("org_number", "5560360794", "the check digit is wrong"),
        ("vat_number", "SE556123456701", "does not belong"),
        ("credit_limit", "-1", "greater than or equal to 0"),
        ("country", "XX", "Select a valid choice"),
    ],
)
def test_bad_input_shows_the_field_error_and_saves_nothing(finance_client, field, value, message):
    response = finance_client.post("/customers/new/", {**FORM, field: value})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert f'data-field="{field}"' in response.content.decode()
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.exists()


def test_duplicate_customer_number_in_the_form(finance_client):
    CustomerFactory(number="555")
    response = finance_client.post("/customers/new/", {**FORM, "number": "555"})
    assert response.status_code == 400
    assert "already exists" in response.context["form"].errors["number"][0]


def test_sales_form_has_no_credit_fields(client, company):
    client.force_login(user_with_role("sales"))
    form = client.get("/customers/new/").context["form"]
    assert "credit_limit" not in form.fields
    assert "name" in form.fields
    response = client.post("/customers/new/", {**FORM, "credit_limit": "999999"})
    assert response.status_code == 302
    assert Customer.objects.get().credit_limit == 0


def test_negative_price_in_the_product_form(client, company):
    client.force_login(user_with_role("manager"))
    data = {
        "sku": "X-1",
        "name": "X",
        "unit": "C62",
        "unit_price": "-5",
        "currency": "SEK",
        "vat_category": ProductFactory().vat_category_id,
        "cost_price": "0",
        "kind": "goods",
        "is_active": "on",
    }
    response = client.post("/products/new/", data)
    assert response.status_code == 400
    assert "unit_price" in response.context["form"].errors
    assert not Product.objects.filter(sku="X-1").exists()


def test_customer_list_searches_filters_sorts_and_paginates(finance_client):
    for i in range(30):
        CustomerFactory(
            number=str(50000 + i),
            name=f"Kund {i:02d}",
            billing_city="Oslo" if i < 5 else "Umeå",
            country="NO" if i < 5 else "SE",
            currency="NOK" if i < 5 else "SEK",
        )
    page = finance_client.get("/customers/").context
    assert page["page_obj"].paginator.count == 30
    assert len(page["rows"]) == 25
    assert finance_client.get("/customers/", {"country": "NO"}).context["page_obj"].paginator.count == 5
    assert [c.name for c in finance_client.get("/customers/", {"q": "Kund 07"}).context["rows"]] == ["Kund 07"]
    assert finance_client.get("/customers/", {"sort": "-name"}).context["rows"][0].name == "Kund 29"
    assert len(finance_client.get("/customers/", {"page": 2}).context["rows"]) == 5
    # An unknown sort key falls back to the default instead of failing.
    assert finance_client.get("/customers/", {"sort": "password"}).status_code == 200


def test_list_pages_query_count_does_not_grow_with_rows(finance_client):
    rep = user_with_role("sales")
    CustomerFactory(sales_rep=rep)
    ProductFactory()
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as customers, CaptureQueriesContext(connection) as products:
            assert finance_client.get("/customers/").status_code == 200
            assert finance_client.get("/products/").status_code == 200
        counts.append((len(customers), len(products)))
        for _ in range(20):
            CustomerFactory(sales_rep=rep)
            ProductFactory()
    assert counts[0] == counts[1]


def test_block_from_the_customer_page(finance_client):
    customer = CustomerFactory()
    response = finance_client.post(f"/customers/{customer.pk}/block/", {"reason": "Overdue"}, follow=True)
    assert "Customer blocked." in response.content.decode()
    customer.refresh_from_db()
    assert customer.is_blocked


def test_company_page_and_edit_for_admin(client, company):
    client.force_login(user_with_role("admin"))
    assert "Testbolaget AB" in client.get("/company/").content.decode()
    form = client.get("/company/edit/").context["form"]
    data = {name: (form.initial.get(name) if form.initial.get(name) is not None else "") for name in form.fields}
    data.update(legal_name="Testbolaget Nya AB", f_skatt="on")
    response = client.post("/company/edit/", {k: v for k, v in data.items() if v not in (None, False)})
    assert response.status_code == 302, response.context["form"].errors
    company.refresh_from_db()
    assert company.legal_name == "Testbolaget Nya AB"
    assert AuditEntry.objects.filter(object_id=str(company.pk), action="change").exists()
