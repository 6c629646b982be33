"""customer_and_products_for_order reads what customer_for_order and products_for_order read."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.selectors import customer_and_products_for_order, customer_for_order, products_for_order
from tests.factories import CustomerFactory, ProductFactory, user_with_role


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def assert_same(together, customer_number=None, customer_pk=None, skus=()):
    customer, products = together
    alone = customer_for_order(number=customer_number, pk=customer_pk)
    alone_products = products_for_order(skus=set(skus))
    if alone is None:
        assert customer is None
    else:
        assert fields(customer) == fields(alone)
        assert (fields(customer.sales_rep) if customer.sales_rep else None) == (
            fields(alone.sales_rep) if alone.sales_rep else None
        )
    assert sorted(products) == sorted(alone_products)
    for sku, product in products.items():
        assert fields(product) == fields(alone_products[sku])
        assert fields(product.vat_category) == fields(alone_products[sku].vat_category)


@pytest.mark.parametrize("with_rep", [True, False])
def test_a_customer_and_its_products_in_one_query(catalogue, company, with_rep):
    rep = user_with_role("sales") if with_rep else None
    customer = CustomerFactory(number="10007", sales_rep=rep)
    ProductFactory(sku="OLD", is_active=False)
    skus = {"HP-8", "BOOK", "OLD", "NO-SUCH-SKU"}
    with CaptureQueriesContext(connection) as queries:
        together = customer_and_products_for_order(number="10007", skus=skus)
    if connection.vendor == "postgresql":
        assert len(queries) == 1
    assert together[0].pk == customer.pk
    assert sorted(together[1]) == ["BOOK", "HP-8", "OLD"]  # inactive ones too: pricing says why not
    assert_same(together, customer_number="10007", skus=skus)
    assert_same(customer_and_products_for_order(pk=customer.pk, skus=skus), customer_pk=customer.pk, skus=skus)


def test_no_product_found_still_gives_the_customer(customer):
    together = customer_and_products_for_order(number=customer.number, skus={"NO-SUCH-SKU"})
    assert together[0].pk == customer.pk and together[1] == {}
    assert_same(together, customer_number=customer.number, skus={"NO-SUCH-SKU"})


def test_no_customer_still_gives_the_products(catalogue):
    together = customer_and_products_for_order(number="99999", skus={"HP-8", "FILTER"})
    assert together[0] is None and sorted(together[1]) == ["FILTER", "HP-8"]
    assert_same(together, customer_number="99999", skus={"HP-8", "FILTER"})
