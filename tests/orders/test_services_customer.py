from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditEntry
from orders import services
from orders.models import Customer, CustomerStatus
from tests.factories import CustomerFactory, user_with_role

VALID = dict(
    name="Fjällbacka Bygg AB",
    country="SE",
    org_number="5560360793",
    vat_number="556036079301",
    billing_street="Storgatan 1",
    billing_postal_code="457 40",
    billing_city="Fjällbacka",
)


@pytest.fixture
def finance(db):
    return user_with_role("finance")


@pytest.fixture
def sales(db):
    return user_with_role("sales")


def test_create_normalises_identifiers_numbers_the_customer_and_audits(finance):
    customer = services.customer_create(actor=finance, via="web", **VALID)
    assert customer.number == "10001"
    assert customer.org_number == "556036-0793"
    assert customer.vat_number == "SE556036079301"
    entry = AuditEntry.objects.get(object_id=str(customer.pk))
    assert entry.action == "create"
    assert entry.changes["name"] == [None, "Fjällbacka Bygg AB"]
    assert entry.actor == finance


def test_next_customer_number_follows_the_highest(finance):
    CustomerFactory(number="10041")
    assert services.customer_create(actor=finance, **VALID).number == "10042"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("org_number", "5560360794", "the check digit is wrong"),
        ("vat_number", "SE556123456701", "does not belong to organisation number"),
        ("peppol_endpoint", "0007:123", "not valid"),
        ("invoice_email", "not-an-email", "valid email"),
    ],
)
def test_invalid_input_is_a_field_error_and_saves_nothing(finance, field, value, message):
    with pytest.raises(ValidationError) as exc:
        services.customer_create(actor=finance, **{**VALID, field: value})
    assert message in " ".join(exc.value.message_dict[field])
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.exists()


def test_duplicate_customer_number_is_a_field_error(finance):
    CustomerFactory(number="777")
    with pytest.raises(ValidationError) as exc:
        services.customer_create(actor=finance, **{**VALID, "number": "777"})
    assert "already exists" in exc.value.message_dict["number"][0]
    assert Customer.objects.count() == 1


def test_credit_limit_with_more_decimals_than_the_currency(finance):
    with pytest.raises(ValidationError) as exc:
        services.customer_create(actor=finance, **{**VALID, "credit_limit": Decimal("100.001")})
    assert "credit_limit" in exc.value.message_dict


def test_a_sales_rep_may_not_set_credit_fields(sales):
    with pytest.raises(ApplicationError) as exc:
        services.customer_create(actor=sales, **{**VALID, "credit_limit": Decimal("50000")})
    assert exc.value.code == ErrorCode.PERMISSION_DENIED
    assert "credit_limit" in exc.value.extra["fields"]
    assert not Customer.objects.exists()
    customer = services.customer_create(actor=sales, **VALID)
    assert customer.credit_limit == Decimal("0")


def test_a_warehouse_user_may_not_create_customers(db):
    with pytest.raises(ApplicationError):
        services.customer_create(actor=user_with_role("warehouse"), **VALID)


def test_block_and_unblock_are_audited_transitions(finance):
    customer = CustomerFactory()
    services.customer_block(customer=customer, reason="Overdue invoices", actor=finance)
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.BLOCKED
    assert customer.blocked_reason == "Overdue invoices"
    with pytest.raises(ApplicationError, match="already blocked"):
        services.customer_block(customer=customer, reason="again", actor=finance)
    services.customer_unblock(customer=customer, actor=finance)
    customer.refresh_from_db()
    assert (customer.status, customer.blocked_reason) == (CustomerStatus.ACTIVE, "")
    transitions = AuditEntry.objects.filter(object_id=str(customer.pk), action="transition").order_by("id")
    assert [t.changes for t in transitions] == [{"status": ["active", "blocked"]}, {"status": ["blocked", "active"]}]
    assert transitions[0].note == "Overdue invoices"


def test_blocking_needs_a_reason(finance):
    with pytest.raises(ValidationError):
        services.customer_block(customer=CustomerFactory(), reason="  ", actor=finance)


def test_status_is_not_changed_through_update(finance):
    with pytest.raises(ApplicationError):
        services.customer_update(customer=CustomerFactory(), actor=finance, status="blocked")


def test_the_database_refuses_a_negative_credit_limit(db):
    from django.db import IntegrityError, transaction

    customer = CustomerFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(credit_limit=Decimal("-1"))
