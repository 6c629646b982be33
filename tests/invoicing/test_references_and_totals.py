"""Payment references (OCR, KID, RF) and the invoice total rule, against hand-computed examples."""

import datetime
from decimal import Decimal

import pytest

from invoicing import references, services
from invoicing.models import ExchangeRate
from o2c.common.exceptions import ApplicationError
from tests.factories import CustomerFactory, user_with_role, vat_category

D = Decimal


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        # Bankgirot's example: 123456, length digit 8 (8 digits in all), Luhn check digit 2.
        ("123456", "12345682"),
        ("1234567", "123456790"),
    ],
)
def test_swedish_ocr_has_a_length_digit_and_a_luhn_check_digit(base, expected):
    assert references.ocr_reference(base) == expected
    assert references.ocr_is_valid(expected)
    assert not references.ocr_is_valid(expected[:-1] + str((int(expected[-1]) + 1) % 10))


def test_norwegian_kid_mod10_and_mod11():
    # MOD10: 1234567 -> Luhn sum 26 -> check digit 4.
    assert references.kid_mod10("1234567") == "12345674"
    # MOD11: 1·6 + 2·5 + 3·4 + 4·3 + 5·2 = 50; 50 mod 11 = 6; 11 - 6 = 5.
    assert references.kid_mod11("12345") == "123455"
    assert references.kid_is_valid("123455", mod11=True)
    assert not references.kid_is_valid("123456", mod11=True)
    # 8·2 = 16; 16 mod 11 = 5; 11 - 5 = 6.
    assert references.kid_mod11("8") == "86"
    # 1·2 + 3·3 = 11: remainder 0 gives check digit 0.
    assert references.kid_mod11("31") == "310"


def test_rf_creditor_reference_is_the_iso_11649_example():
    assert references.rf_reference("539007547034") == "RF18539007547034"
    assert references.rf_is_valid("RF18539007547034")
    assert not references.rf_is_valid("RF19539007547034")


def test_references_from_one_series_are_unique_and_valid():
    made = {references.payment_reference(scheme="ocr", sequence=n, series_id=3) for n in range(1, 2001)}
    assert len(made) == 2000 and all(references.ocr_is_valid(r) for r in made)
    assert references.payment_reference_is_valid(
        scheme="k11", reference=references.payment_reference(scheme="k11", sequence=17, series_id=2)
    )


def test_vat_per_rate_on_the_rates_sum_and_a_whole_kronor_rounding_line():
    # Lines: 3 × 33.33 at 25 % = 99.99, 1 × 10.10 at 6 % = 10.10; a 10.00 allowance at 25 %.
    totals = services.totals_compute(
        lines=[("S", D("25"), D("99.99")), ("S", D("6"), D("10.10"))],
        allowance_charges=[(False, "S", D("25"), D("10.00"))],
        currency="SEK",
        round_to_whole_units_=True,
    )
    # 25 %: (99.99 - 10.00) × 0.25 = 22.4975 -> 22.50; 6 %: 10.10 × 0.06 = 0.606 -> 0.61.
    assert [(row.rate, row.taxable_amount, row.vat_amount) for row in totals.vat_breakdown] == [
        (D("25"), D("89.99"), D("22.50")),
        (D("6"), D("10.10"), D("0.61")),
    ]
    assert totals.net_amount == D("110.09") and totals.allowance_amount == D("10.00")
    # 100.09 + 23.11 = 123.20 -> 123.00 to pay, rounding -0.20.
    assert (totals.gross_amount, totals.rounding_amount, totals.payable_amount) == (
        D("123.20"),
        D("-0.20"),
        D("123.00"),
    )


def test_no_whole_unit_rounding_for_euros():
    totals = services.totals_compute(
        lines=[("S", D("25"), D("10.01"))], allowance_charges=[], currency="EUR", round_to_whole_units_=True
    )
    assert (totals.gross_amount, totals.rounding_amount, totals.payable_amount) == (D("12.51"), D("0.00"), D("12.51"))


@pytest.mark.django_db
def test_rates_import_from_csv_with_decimal_commas(seller):
    result = services.exchange_rates_import_csv(
        content="Datum;Valuta;Kurs\n2026-03-02;EUR;11,2345\n2026-03-02;USD;10,01\n",
        base_currency="SEK",
        source="Riksbanken",
        actor=None,
    )
    assert (result.created, result.errors) == (2, [])
    assert ExchangeRate.objects.get(currency="EUR").rate == D("11.2345")
    again = services.exchange_rates_import_csv(
        content="2026-03-02;EUR;11,3000\n2026-03-02;USD;10,01\n", base_currency="SEK", source="fix", actor=None
    )
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)


@pytest.mark.django_db
def test_a_bad_rates_file_is_refused_whole_with_line_numbers(seller):
    result = services.exchange_rates_import_csv(
        content="2026-03-02;EUR;11,2\n2026-13-01;EUR;11\n2026-03-03;XXX;1\n2026-03-04;EUR;-1\n2026-03-05;SEK;1\n",
        base_currency="SEK",
        source="x",
        actor=None,
    )
    assert len(result.errors) == 4
    assert result.errors[0].startswith("Line 2:") and "XXX" in result.errors[1] and "Line 4" in result.errors[2]
    assert not ExchangeRate.objects.exists()


@pytest.mark.django_db
def test_a_foreign_currency_invoice_states_its_vat_in_kronor_at_the_rate_of_the_invoice_date(seller):
    ExchangeRate.objects.create(currency="EUR", base_currency="SEK", date=datetime.date(2026, 3, 6), rate=D("11.5"))
    maker, approver = user_with_role("finance", "m"), user_with_role("finance", "a")
    customer = CustomerFactory(currency="EUR", country="FI", vat_number="FI12345671")
    invoice = services.invoice_draft_manual(
        customer=customer,
        actor=maker,
        lines=[
            services.ManualLine(
                description="Consulting", quantity=D(2), unit_price=D("100.00"), vat_category=vat_category()
            )
        ],
    )
    services.invoice_approve(invoice=invoice, actor=approver)
    # A Sunday: Friday's rate applies.
    invoice = services.invoice_issue(invoice=invoice, actor=approver, issue_date=datetime.date(2026, 3, 8))
    assert (invoice.currency, invoice.vat_amount, invoice.exchange_rate) == ("EUR", D("50.00"), D("11.5"))
    assert invoice.exchange_rate_date == datetime.date(2026, 3, 6) and invoice.vat_amount_base == D("575.00")


@pytest.mark.django_db
def test_without_a_recent_rate_a_foreign_invoice_is_not_issued(seller):
    ExchangeRate.objects.create(currency="EUR", base_currency="SEK", date=datetime.date(2026, 2, 1), rate=D("11.5"))
    maker, approver = user_with_role("finance", "m"), user_with_role("finance", "a")
    invoice = services.invoice_draft_manual(
        customer=CustomerFactory(currency="EUR"),
        actor=maker,
        lines=[services.ManualLine(description="X", quantity=D(1), unit_price=D("1.00"), vat_category=vat_category())],
    )
    services.invoice_approve(invoice=invoice, actor=approver)
    with pytest.raises(ApplicationError) as error:
        services.invoice_issue(invoice=invoice, actor=approver, issue_date=datetime.date(2026, 3, 8))
    assert "No EUR/SEK exchange rate" in error.value.message
    invoice.refresh_from_db()
    assert invoice.status == "approved" and invoice.number == ""


@pytest.mark.django_db
def test_a_credit_note_reverses_a_foreign_invoice_at_the_invoices_rate(seller):
    ExchangeRate.objects.create(currency="EUR", base_currency="SEK", date=datetime.date(2026, 3, 6), rate=D("11.5"))
    ExchangeRate.objects.create(currency="EUR", base_currency="SEK", date=datetime.date(2026, 4, 6), rate=D("12.0"))
    maker, approver = user_with_role("finance", "m"), user_with_role("finance", "a")
    invoice = services.invoice_draft_manual(
        customer=CustomerFactory(currency="EUR"),
        actor=maker,
        lines=[
            services.ManualLine(description="X", quantity=D(2), unit_price=D("100.00"), vat_category=vat_category())
        ],
    )
    services.invoice_approve(invoice=invoice, actor=approver)
    invoice = services.invoice_issue(invoice=invoice, actor=approver, issue_date=datetime.date(2026, 3, 6))
    note = services.credit_note_create(invoice=invoice, reason="Cancelled", actor=maker)
    services.invoice_approve(invoice=note, actor=approver)
    note = services.invoice_issue(invoice=note, actor=approver, issue_date=datetime.date(2026, 4, 6))
    assert (
        (note.exchange_rate, note.vat_amount_base) == (D("11.5"), invoice.vat_amount_base) == (D("11.5"), D("575.00"))
    )
