import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from o2c.common.models import AuditEntry
from orders.models import Customer
from tests.factories import CustomerFactory

URL = "/api/v1/customers/"
VALID = {
    "name": "Fjällbacka Bygg AB",
    "country": "SE",
    "org_number": "556036-0793",
    "vat_number": "SE556036079301",
    "billing_street": "Storgatan 1",
    "billing_postal_code": "457 40",
    "billing_city": "Fjällbacka",
    "invoice_email": "faktura@fjallbacka.example",
    "peppol_endpoint": "0007:5560360793",
}


def test_create_returns_201_with_money_as_strings(api_client_for):
    response = api_client_for("finance").post(URL, {**VALID, "credit_limit": "25000.00"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == "10001"
    assert body["credit_limit"] == "25000.00"
    assert body["org_number"] == "556036-0793"
    audit = AuditEntry.objects.get(object_id=str(body["id"]))
    assert audit.via == "api"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"org_number": "5560360794"}, "org_number"),
        ({"vat_number": "SE999999999901"}, "vat_number"),
        ({"country": "XX"}, "country"),
        ({"credit_limit": "-5.00"}, "credit_limit"),
        ({"credit_limit": "1.005"}, "credit_limit"),
        ({"name": ""}, "name"),
        ({"sales_rep": "nobody"}, "sales_rep"),
    ],
)
def test_bad_input_is_400_with_the_field_path_and_saves_nothing(api_client_for, overrides, field):
    response = api_client_for("finance").post(URL, {**VALID, **overrides}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"], error
    assert error["fields"][field][0]
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.exists()


def test_duplicate_customer_number_is_400(api_client_for):
    CustomerFactory(number="10001")
    response = api_client_for("finance").post(URL, {**VALID, "number": "10001"}, format="json")
    assert response.status_code == 400
    assert "number" in response.json()["error"]["fields"]
    assert Customer.objects.count() == 1


def test_malformed_json_is_400_not_500(api_client_for):
    response = api_client_for("finance").post(URL, data='{"name": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_a_sales_rep_setting_a_credit_limit_gets_403_with_the_field(api_client_for):
    response = api_client_for("sales").post(URL, {**VALID, "credit_limit": "100000.00"}, format="json")
    assert response.status_code == 403
    assert "credit_limit" in response.json()["error"]["fields"]
    assert not Customer.objects.exists()


def test_patch_changes_and_audits(api_client_for):
    customer = CustomerFactory(name="Old AB")
    response = api_client_for("finance").patch(f"{URL}{customer.pk}/", {"name": "New AB"}, format="json")
    assert response.status_code == 200
    assert AuditEntry.objects.get(object_id=str(customer.pk), action="change").changes == {"name": ["Old AB", "New AB"]}


def test_block_action(api_client_for):
    customer = CustomerFactory()
    client = api_client_for("finance")
    response = client.post(f"{URL}{customer.pk}/block/", {"reason": "Late payer"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "blocked"
    again = client.post(f"{URL}{customer.pk}/block/", {"reason": "Late payer"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"
    assert api_client_for("sales").post(f"{URL}{customer.pk}/unblock/", {}, format="json").status_code == 403


def test_delete_is_not_offered(api_client_for):
    customer = CustomerFactory()
    assert api_client_for("admin").delete(f"{URL}{customer.pk}/").status_code == 405
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_list_filters_searches_sorts_and_paginates(api_client_for):
    for i in range(60):
        CustomerFactory(
            number=str(40000 + i),
            name=f"Kund {i:02d}",
            country="NO" if i % 3 == 0 else "SE",
            currency="NOK" if i % 3 == 0 else "SEK",
        )
    client = api_client_for("sales")
    page = client.get(URL).json()
    assert page["count"] == 60 and len(page["results"]) == 50 and page["next"]
    assert client.get(URL, {"country": "NO"}).json()["count"] == 20
    assert [c["name"] for c in client.get(URL, {"q": "Kund 07"}).json()["results"]] == ["Kund 07"]
    assert client.get(URL, {"ordering": "-number", "page_size": 2}).json()["results"][0]["number"] == "40059"


def test_list_query_count_does_not_grow_with_rows(api_client_for):
    client = api_client_for("sales")
    for _ in range(3):
        CustomerFactory(sales_rep=client.user)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    for _ in range(30):
        CustomerFactory(sales_rep=client.user)
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).status_code == 200
    assert len(many) == len(few)
