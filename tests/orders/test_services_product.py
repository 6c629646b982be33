import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from o2c.common.exceptions import ApplicationError
from orders import services
from orders.models import Product, VatCategory
from orders.selectors import vat_rate_on
from tests.factories import user_with_role, vat_category


@pytest.fixture
def manager(db):
    return user_with_role("manager")


def product_data(**overrides):
    return {
        "sku": "HP-1",
        "name": "Värmepump",
        "unit_price": Decimal("89900.00"),
        "currency": "SEK",
        "vat_category": vat_category("standard"),
        "cost_price": Decimal("54000.00"),
        **overrides,
    }


def test_create_product(manager, company):
    product = services.product_create(actor=manager, **product_data())
    assert product.is_stock_tracked
    assert product.vat_category.uncl5305_code == "S"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"unit_price": Decimal("-1.00")}, "unit_price"),
        ({"unit_price": Decimal("1.001")}, "unit_price"),
        ({"cost_price": Decimal("-5")}, "cost_price"),
        ({"sku": "bad sku!"}, "sku"),
    ],
)
def test_bad_product_input_is_a_field_error(manager, company, overrides, field):
    with pytest.raises(ValidationError) as exc:
        services.product_create(actor=manager, **product_data(**overrides))
    assert field in exc.value.message_dict
    assert not Product.objects.exists()


def test_vat_category_must_be_of_the_company_country(manager, company):
    with pytest.raises(ValidationError) as exc:
        services.product_create(actor=manager, **product_data(vat_category=vat_category("standard", "NO")))
    assert "company's country" in exc.value.message_dict["vat_category"][0]


def test_sales_may_not_create_products(company):
    with pytest.raises(ApplicationError):
        services.product_create(actor=user_with_role("sales"), **product_data())


@pytest.mark.parametrize(
    ("country", "code", "day", "rate"),
    [
        ("SE", "standard", datetime.date(2026, 11, 24), "25.00"),
        ("SE", "reduced_food", datetime.date(2026, 3, 31), "12.00"),
        ("SE", "reduced_food", datetime.date(2026, 4, 1), "6.00"),
        ("SE", "reduced_food", datetime.date(2028, 1, 1), "12.00"),
        ("SE", "reduced_culture", datetime.date(2026, 11, 24), "6.00"),
        ("NO", "standard", datetime.date(2026, 11, 24), "25.00"),
        ("NO", "reduced_food", datetime.date(2026, 11, 24), "15.00"),
        ("NO", "reduced_transport", datetime.date(2026, 11, 24), "12.00"),
        ("NO", "zero", datetime.date(2026, 11, 24), "0.00"),
    ],
)
def test_vat_rate_in_force_on_a_date(db, country, code, day, rate):
    assert vat_rate_on(category=VatCategory.objects.get(country=country, code=code), on=day) == Decimal(rate)


def test_categories_carry_their_e_invoice_codes(db):
    codes = dict(VatCategory.objects.filter(country="SE").values_list("code", "uncl5305_code"))
    assert codes["reverse_charge"] == "AE"
    assert codes["export"] == "G"
    assert codes["intra_eu"] == "K"


def test_an_overlapping_vat_rate_period_is_refused(db):
    admin = user_with_role("admin")
    category = vat_category("standard")
    with pytest.raises(ValidationError) as exc:
        services.vat_rate_add(category=category, actor=admin, rate=Decimal("26"), valid_from=datetime.date(2030, 1, 1))
    assert "Overlaps" in exc.value.message_dict["valid_from"][0]
