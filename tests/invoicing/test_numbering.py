"""Gapless numbers: concurrent issues in one series, and issues that roll back (PostgreSQL)."""

from decimal import Decimal

import pytest
from django.db import transaction

from invoicing import services
from invoicing.models import Invoice, InvoiceStatus
from orders.migrations import _seed
from tests.factories import CustomerFactory, user_with_role, vat_category
from tests.invoicing.threads import in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class Rollback(Exception):
    pass


@pytest.fixture
def approved(seller):
    """approved(n) -> n approved manual invoices, drafted by one finance user and approved by another."""
    _seed.vat()
    maker, approver = user_with_role("finance", "maker"), user_with_role("finance", "approver")
    customer = CustomerFactory()
    standard = vat_category("standard")

    def make(count: int) -> list[Invoice]:
        invoices = []
        for i in range(count):
            invoice = services.invoice_draft_manual(
                customer=customer,
                actor=maker,
                lines=[
                    services.ManualLine(
                        description=f"Fee {i}", quantity=Decimal(1), unit_price=Decimal("100.00"), vat_category=standard
                    )
                ],
            )
            invoices.append(services.invoice_approve(invoice=invoice, actor=approver))
        return invoices

    return make


def issued_numbers() -> list[int]:
    return sorted(Invoice.objects.filter(status=InvoiceStatus.ISSUED).values_list("sequence", flat=True))


def test_twenty_concurrent_issues_get_twenty_consecutive_numbers(approved, seller):
    invoices = approved(20)

    results, errors = in_threads(lambda invoice: services.invoice_issue(invoice=invoice, actor=None).sequence, invoices)

    assert errors == []
    assert sorted(results) == list(range(1001, 1021))
    assert issued_numbers() == list(range(1001, 1021))
    seller.invoice_series.refresh_from_db()
    assert seller.invoice_series.next_number == 1021


def test_an_issue_that_rolls_back_leaves_no_gap(approved, seller):
    first, second = approved(2)

    with pytest.raises(Rollback), transaction.atomic():
        services.invoice_issue(invoice=first, actor=None)
        raise Rollback  # e.g. the caller's next step failed

    assert Invoice.objects.get(pk=first.pk).status == InvoiceStatus.APPROVED
    assert services.invoice_issue(invoice=second, actor=None).sequence == 1001
    assert services.invoice_issue(invoice=first, actor=None).sequence == 1002


def test_concurrent_issues_some_of_which_roll_back_leave_no_gap_and_no_duplicate(approved, seller):
    invoices = approved(12)

    def issue(invoice):
        with transaction.atomic():
            issued = services.invoice_issue(invoice=invoice, actor=None)
            if invoice.pk % 3 == 0:
                raise Rollback
            return issued.sequence

    results, errors = in_threads(issue, invoices)

    rolled_back = [i for i in invoices if i.pk % 3 == 0]
    assert len(errors) == len(rolled_back) and all(isinstance(e, Rollback) for e in errors)
    kept = len(invoices) - len(rolled_back)
    assert issued_numbers() == list(range(1001, 1001 + kept))
    assert sorted(r for r in results if r is not None) == list(range(1001, 1001 + kept))
