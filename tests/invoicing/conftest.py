"""Shared set-up for invoicing tests: a company ready to invoice, and orders that have shipped."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from fulfilment import services as fulfilment_services
from fulfilment.services import shipping
from invoicing import services
from orders import services as order_services
from orders.models import BankAccount, NumberSeries, Order, OrderStatus
from orders.services import LineInput
from tests.factories import CustomerFactory, ProductFactory, user_with_role, vat_category

SHIP_DATE = datetime.date(2026, 3, 2)


@pytest.fixture(scope="session")
def peppol_or_none(tmp_path_factory):
    """The shared Peppol validator, compiled once per test session; None where it is not installed.

    CI must have it (a missing validator fails the run there); elsewhere the tests that are about
    UBL skip, and the rest run without validating their documents.
    """
    import os

    from tests.invoicing.peppol import VALIDATOR_PATH, PeppolValidator

    if not VALIDATOR_PATH.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the Peppol validator at {VALIDATOR_PATH} (set O2C_SHARED_DIR)")
        return None
    return PeppolValidator(tmp_path_factory.mktemp("ubl"))


@pytest.fixture
def peppol(peppol_or_none):
    if peppol_or_none is None:
        pytest.skip("the Peppol validator is not beside the project (../shared/tools/validate_peppol.py)")
    return peppol_or_none


@pytest.fixture(autouse=True)
def every_ubl_is_valid_peppol(peppol_or_none, monkeypatch):
    """Every UBL any invoicing test makes must pass the Peppol validator (issue 6's "Done when").

    The documents are collected as they are made (in whatever thread) and validated when the test
    ends, in the test's own thread.
    """
    from invoicing import ubl

    made: list[str] = []
    make = ubl.invoice_ubl

    def collecting(invoice):
        xml = make(invoice)
        if xml:
            made.append(xml)
        return xml

    monkeypatch.setattr(ubl, "invoice_ubl", collecting)
    yield
    if peppol_or_none is not None:
        for xml in made:
            peppol_or_none.assert_valid(xml)


@pytest.fixture
def seller(company):
    """The company with invoice and credit-note series and a bankgiro account."""
    company.invoice_series = NumberSeries.objects.create(
        company=company, code="invoice", name="Invoices", next_number=1001
    )
    company.credit_note_series = NumberSeries.objects.create(
        company=company, code="credit-note", name="Credit notes", prefix="K", next_number=1
    )
    company.save()
    BankAccount.objects.create(company=company, kind="bankgiro", number="5050-1055")
    return company


@pytest.fixture
def warehouse_user(db):
    return user_with_role("warehouse")


@pytest.fixture
def finance(db):
    return user_with_role("finance", "finance1")


@pytest.fixture
def finance2(db):
    return user_with_role("finance", "finance2")


@pytest.fixture
def products(db):
    """A pump (25 % VAT), a book (6 % VAT) and an installation service (25 %), with stock."""
    pump = ProductFactory(sku="PUMP", name="Heat pump", unit_price=Decimal("1000.00"))
    book = ProductFactory(
        sku="BOOK", name="Manual", unit_price=Decimal("199.00"), vat_category=vat_category("reduced_culture")
    )
    install = ProductFactory(sku="INSTALL", name="Installation", unit_price=Decimal("850.00"), kind="service")
    fulfilment_services.stock_receive(product=pump, quantity=Decimal(100), actor=None)
    fulfilment_services.stock_receive(product=book, quantity=Decimal(100), actor=None)
    return {"PUMP": pump, "BOOK": book, "INSTALL": install}


def ship_order(order: Order, actor, *, ship_date=SHIP_DATE, tracking="JJSE0001"):
    """Release, pick everything, pack in one package and ship; returns the shipment."""
    fulfilment_services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=2))
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED, order.status
    pick_list = order.pick_lists.filter(status="open").get()
    shipping.pick_list_pick(
        pick_list=pick_list, picked={line.pk: line.quantity for line in pick_list.lines.all()}, actor=actor
    )
    shipment = shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal("12.5")], actor=actor)
    return shipping.shipment_ship(
        shipment=shipment, carrier="PostNord", tracking_number=tracking, ship_date=ship_date, actor=actor
    )


@pytest.fixture
def shipped(seller, products, warehouse_user):
    """shipped({"PUMP": 2, "BOOK": 3}, customer=...) -> the shipment of a new order that has left."""

    def make(quantities: dict, customer=None, **order_kwargs):
        customer = customer or CustomerFactory(credit_limit=Decimal("10000000"))
        order = order_services.order_create(
            customer=customer,
            actor=None,
            lines=[LineInput(sku=sku, quantity=Decimal(str(q))) for sku, q in quantities.items()],
            **order_kwargs,
        )
        return ship_order(order, warehouse_user)

    return make


@pytest.fixture
def issued(shipped, finance, finance2):
    """issued({"PUMP": 1}) -> an issued invoice for a new shipped order, drafted by finance, approved by finance2."""

    def make(quantities: dict, customer=None, **order_kwargs):
        shipment = shipped(quantities, customer=customer, **order_kwargs)
        invoice = services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance)
        if invoice.status == "draft":
            services.invoice_approve(invoice=invoice, actor=finance2)
        return services.invoice_issue(invoice=invoice, actor=finance2)

    return make
