import pytest
from django.core.exceptions import ValidationError

from o2c.common import identifiers


def test_swedish_org_number_is_stored_formatted():
    assert identifiers.normalize_org_number("SE", "5560360793") == "556036-0793"


def test_a_bad_check_digit_says_so():
    with pytest.raises(ValidationError) as exc:
        identifiers.normalize_org_number("SE", "5560360794")
    assert exc.value.messages == ["Swedish organisation number 5560360794 is not valid: the check digit is wrong."]


def test_norwegian_org_and_vat_numbers():
    assert identifiers.normalize_org_number("NO", "912 345 602") == "912345602"
    assert identifiers.normalize_vat_number("NO", "912345602") == "NO912345602MVA"
    with pytest.raises(ValidationError, match="Norwegian organisation number"):
        identifiers.normalize_org_number("NO", "912345603")


def test_vat_numbers_get_their_country_prefix_and_are_checked():
    assert identifiers.normalize_vat_number("SE", "556036079301") == "SE556036079301"
    with pytest.raises(ValidationError, match="another country"):
        identifiers.normalize_vat_number("SE", "DK13585628")
    with pytest.raises(ValidationError, match="not valid"):
        identifiers.normalize_vat_number("SE", "SE556036079401")


def test_vat_number_must_belong_to_the_org_number():
    identifiers.check_vat_matches_org_number("SE", "556036-0793", "SE556036079301")
    with pytest.raises(ValidationError, match="does not belong"):
        identifiers.check_vat_matches_org_number("SE", "556036-0793", "SE556123456701")


def test_bank_accounts():
    assert identifiers.normalize_bankgiro("5050109") == "505-0109"
    with pytest.raises(ValidationError, match="check digit"):
        identifiers.normalize_bankgiro("5050108")
    assert identifiers.normalize_no_account("86011117947") == "8601.11.17947"
    assert identifiers.normalize_iban("SE45 5000 0000 0583 9825 7466") == "SE4550000000058398257466"


def test_peppol_ids_check_the_identifier_of_known_schemes():
    assert identifiers.normalize_peppol_id("0007:556036-0793") == "0007:5560360793"
    assert identifiers.normalize_peppol_id("0192:912345602") == "0192:912345602"
    with pytest.raises(ValidationError, match="scheme:identifier"):
        identifiers.normalize_peppol_id("5560360793")
    with pytest.raises(ValidationError, match="check digit"):
        identifiers.normalize_peppol_id("0007:5560360794")
