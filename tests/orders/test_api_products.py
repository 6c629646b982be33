import pytest

from orders.models import Product
from tests.factories import ProductFactory

URL = "/api/v1/products/"
VALID = {
    "sku": "HP-AIR-8",
    "name": "Värmepump 8 kW",
    "unit": "C62",
    "unit_price": "89900.00",
    "currency": "SEK",
    "vat_category": "standard",
    "cost_price": "54000.00",
    "kind": "goods",
    "requires_installation": True,
}


def test_create_product_with_vat_category_by_code(api_client_for, company):
    response = api_client_for("manager").post(URL, VALID, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["vat_category"] == "standard"
    assert body["vat_code"] == "S"
    assert body["unit_price"] == "89900.00"


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"unit_price": "-1.00"}, "unit_price", ""),
        ({"unit_price": "10.123"}, "unit_price", ""),
        ({"vat_category": "luxury"}, "vat_category", "Unknown VAT category 'luxury'"),
        ({"vat_category": "reduced_transport"}, "vat_category", "Unknown VAT category"),  # a Norwegian one
        ({"unit": "XYZ"}, "unit", ""),
        ({"sku": ""}, "sku", ""),
    ],
)
def test_bad_product_input_is_400_with_field_and_saves_nothing(api_client_for, company, overrides, field, text):
    response = api_client_for("manager").post(URL, {**VALID, **overrides}, format="json")
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert field in fields
    assert text in fields[field][0]
    assert not Product.objects.exists()


def test_duplicate_sku(api_client_for, company):
    ProductFactory(sku="HP-AIR-8")
    response = api_client_for("admin").post(URL, VALID, format="json")
    assert response.status_code == 400
    assert "sku" in response.json()["error"]["fields"]


def test_list_filters(api_client_for, company):
    ProductFactory(sku="A-1", kind="service")
    ProductFactory(sku="A-2")
    client = api_client_for("warehouse")
    assert [p["sku"] for p in client.get(URL, {"kind": "service"}).json()["results"]] == ["A-1"]
    assert client.get(URL, {"q": "A-"}).json()["count"] == 2
