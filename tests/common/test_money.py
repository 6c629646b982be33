from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from o2c.common.money import round_money, round_to_whole_units, validate_money_precision


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("0.005", "0.01"), ("0.004", "0.00"), ("2.675", "2.68"), ("-2.675", "-2.68"), ("10", "10.00")],
)
def test_round_money_rounds_half_up_to_the_currency_minor_unit(amount, expected):
    assert round_money(Decimal(amount), "SEK") == Decimal(expected)


def test_round_money_refuses_floats():
    with pytest.raises(TypeError):
        round_money(2.675, "SEK")


def test_round_to_whole_units_is_oresavrundning():
    assert round_to_whole_units(Decimal("1234.50")) == Decimal("1235.00")
    assert round_to_whole_units(Decimal("1234.49")) == Decimal("1234.00")


def test_more_decimals_than_the_currency_has_is_rejected_with_the_numbers():
    validate_money_precision(Decimal("10.50"), "NOK")
    validate_money_precision(Decimal("10.500"), "NOK")  # trailing zeros are not precision
    with pytest.raises(ValidationError) as exc:
        validate_money_precision(Decimal("10.505"), "NOK")
    assert "NOK amounts have at most 2 decimals; 10.505 has 3" in exc.value.messages[0]
