from decimal import Decimal

import pytest

from tests.factories import CustomerFactory, ProductFactory, vat_category


@pytest.fixture
def catalogue(company):
    """Three products at two VAT rates (25 % and the reduced culture rate of 6 %)."""
    return {
        "pump": ProductFactory(sku="HP-8", name="Värmepump", unit_price=Decimal("89900.00")),
        "filter": ProductFactory(sku="FILTER", name="Filter", unit_price=Decimal("349.00")),
        "book": ProductFactory(
            sku="BOOK", name="Handbok", unit_price=Decimal("295.00"), vat_category=vat_category("reduced_culture")
        ),
    }


@pytest.fixture
def customer(company):
    return CustomerFactory(number="10001", credit_limit=Decimal("100000000.00"))
