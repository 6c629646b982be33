"""Payment references that banks read and check: Swedish OCR, Norwegian KID, RF (ISO 11649).

Each is made from the invoice's sequence number in its series, so it is unique per series and
tells receivables which invoice a payment is for. The check digits come from python-stdnum where
it has the scheme (Luhn, ISO 7064 MOD 97-10); KID's MOD11 is written out below because stdnum
has no Norwegian KID module.
"""

from stdnum import iso11649, luhn
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.iso7064 import mod_97_10

OCR = "ocr"
KID = "kid"
KID_MOD11 = "k11"
RF = "rf"


def ocr_reference(base: str) -> str:
    """Bankgirot OCR with length digit: base, then (length incl. both digits) mod 10, then Luhn."""
    _require_digits(base)
    with_length = base + str((len(base) + 2) % 10)
    return with_length + luhn.calc_check_digit(with_length)


def ocr_is_valid(reference: str) -> bool:
    if not reference.isdigit() or len(reference) < 2:
        return False
    return luhn.is_valid(reference) and int(reference[-2]) == len(reference) % 10


def kid_mod10(base: str) -> str:
    _require_digits(base)
    return base + luhn.calc_check_digit(base)


def _mod11_check(base: str) -> str:
    # Weights 2, 3, 4, 5, 6, 7, 2, ... from the right; 11 - remainder, where 11 is 0 and 10 is "-".
    total = sum(int(digit) * (2 + i % 6) for i, digit in enumerate(reversed(base)))
    check = 11 - total % 11
    return {11: "0", 10: "-"}.get(check, str(check))


def kid_mod11(base: str) -> str:
    _require_digits(base)
    return base + _mod11_check(base)


def kid_is_valid(reference: str, *, mod11: bool = False) -> bool:
    body, check = reference[:-1], reference[-1:]
    if not body.isdigit() or not 2 <= len(reference) <= 25:
        return False
    return (_mod11_check(body) if mod11 else luhn.calc_check_digit(body)) == check


def rf_reference(base: str) -> str:
    """ISO 11649 creditor reference: RF, two MOD 97-10 check digits, then the base."""
    base = base.upper()
    if not base.isalnum() or len(base) > 21:
        raise ValueError(f"An RF reference is 1 to 21 letters or digits, not {base!r}")
    return "RF" + mod_97_10.calc_check_digits(base + "RF") + base


def rf_is_valid(reference: str) -> bool:
    try:
        iso11649.validate(reference)
    except StdnumError:
        return False
    return True


def _require_digits(base: str) -> None:
    if not base.isdigit():
        raise ValueError(f"A payment reference is made from digits, not {base!r}")


def payment_reference(*, scheme: str, sequence: int, series_id: int) -> str:
    """The reference for an invoice: its series and its sequence number, with the scheme's check digits.

    The series id leads so that two series (invoices and credit notes) never make the same reference.
    """
    base = f"{series_id}{sequence:06d}"
    if scheme == OCR:
        return ocr_reference(base)
    if scheme == KID:
        return kid_mod10(base)
    if scheme == KID_MOD11:
        return kid_mod11(base)
    if scheme == RF:
        return rf_reference(base)
    raise ValueError(f"Unknown payment reference scheme {scheme!r}")


def payment_reference_is_valid(*, scheme: str, reference: str) -> bool:
    return {
        OCR: ocr_is_valid,
        KID: kid_is_valid,
        KID_MOD11: lambda r: kid_is_valid(r, mod11=True),
        RF: rf_is_valid,
    }[scheme](reference)
