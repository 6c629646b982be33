"""Organisation numbers, VAT numbers, bank accounts and Peppol ids, checked with python-stdnum.

Each `normalize_*` returns the value in the form we store and print, or raises a Django
`ValidationError` whose message says what is wrong (a bad check digit, a wrong length, ...), so a
form or an API response can point at the field.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import bic, iban, luhn
from stdnum.dk import cvr as dk_cvr
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fi import ytunnus as fi_ytunnus
from stdnum.gb import vat as gb_vat
from stdnum.no import kontonr as no_kontonr
from stdnum.no import mva as no_mva
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr

from .countries import EU_COUNTRIES


def _reason(exc: StdnumError) -> str:
    if isinstance(exc, InvalidChecksum):
        return _("the check digit is wrong")
    if isinstance(exc, InvalidLength):
        return _("it has the wrong number of digits")
    if isinstance(exc, InvalidFormat):
        return _("it has an invalid format")
    if isinstance(exc, InvalidComponent):
        return _("a part of it is not valid")
    return _("it is not valid")


def _fail(what: str, value: str, exc: StdnumError, code: str) -> ValidationError:
    return ValidationError(
        _("%(what)s %(value)s is not valid: %(reason)s.") % {"what": what, "value": value, "reason": _reason(exc)},
        code=code,
    )


_ORG_NUMBER_CHECKS = {
    # country: (module, label, format for storage)
    "SE": (se_orgnr, gettext_lazy("Swedish organisation number"), se_orgnr.format),
    "NO": (no_orgnr, gettext_lazy("Norwegian organisation number"), no_orgnr.compact),
    "DK": (dk_cvr, gettext_lazy("Danish CVR number"), dk_cvr.compact),
    "FI": (fi_ytunnus, gettext_lazy("Finnish business ID"), fi_ytunnus.format),
}


def normalize_org_number(country: str, value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    check = _ORG_NUMBER_CHECKS.get(country)
    if check is None:
        # No national register we can check offline: keep what the user typed.
        return value
    module, label, formatter = check
    try:
        module.validate(value)
    except StdnumError as exc:
        raise _fail(str(label), value, exc, "invalid_org_number") from None
    return formatter(value)


def normalize_vat_number(country: str, value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    compact = re.sub(r"[\s.\-]", "", value).upper()
    if country == "NO":
        candidate = compact if compact.startswith("NO") else "NO" + compact
        if not candidate.endswith("MVA"):
            candidate += "MVA"
        try:
            compact_mva = no_mva.validate(candidate)
            return compact_mva if compact_mva.startswith("NO") else "NO" + compact_mva
        except StdnumError as exc:
            raise _fail(_("Norwegian VAT number"), value, exc, "invalid_vat_number") from None
    if country == "GB":
        try:
            return "GB" + gb_vat.validate(compact)
        except StdnumError as exc:
            raise _fail(_("UK VAT number"), value, exc, "invalid_vat_number") from None
    if country in EU_COUNTRIES:
        prefix = "EL" if country == "GR" else country
        candidate = compact if compact[:2].isalpha() else prefix + compact
        if candidate[:2] != prefix:
            raise ValidationError(
                _("VAT number %(value)s is from another country than %(country)s.")
                % {"value": value, "country": country},
                code="vat_country_mismatch",
            )
        try:
            return eu_vat.validate(candidate)
        except StdnumError as exc:
            raise _fail(_("VAT number"), value, exc, "invalid_vat_number") from None
    return compact


def org_digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def check_vat_matches_org_number(country: str, org_number: str, vat_number: str) -> None:
    """A Swedish VAT number is SE + the org number + 01; a Norwegian one NO + org number + MVA."""
    if not (org_number and vat_number) or country not in ("SE", "NO"):
        return
    vat_core = org_digits(vat_number)
    org = org_digits(org_number)
    expected = org + "01" if country == "SE" else org
    if vat_core != expected:
        raise ValidationError(
            _("VAT number %(vat)s does not belong to organisation number %(org)s.")
            % {"vat": vat_number, "org": org_number},
            code="vat_org_mismatch",
        )


def normalize_bankgiro(value: str) -> str:
    digits = org_digits(value)
    if not 7 <= len(digits) <= 8:
        raise ValidationError(_("A bankgiro number has 7 or 8 digits."), code="invalid_bankgiro")
    try:
        luhn.validate(digits)
    except StdnumError as exc:
        raise _fail(_("Bankgiro number"), value, exc, "invalid_bankgiro") from None
    return f"{digits[:-4]}-{digits[-4:]}"


def normalize_plusgiro(value: str) -> str:
    digits = org_digits(value)
    if not 2 <= len(digits) <= 8:
        raise ValidationError(_("A plusgiro number has 2 to 8 digits."), code="invalid_plusgiro")
    try:
        luhn.validate(digits)
    except StdnumError as exc:
        raise _fail(_("Plusgiro number"), value, exc, "invalid_plusgiro") from None
    return f"{digits[:-1]}-{digits[-1]}"


def normalize_iban(value: str) -> str:
    try:
        return iban.validate(value)
    except StdnumError as exc:
        raise _fail(_("IBAN"), value, exc, "invalid_iban") from None


def normalize_bic(value: str) -> str:
    try:
        return bic.validate(value)
    except StdnumError as exc:
        raise _fail(_("BIC"), value, exc, "invalid_bic") from None


def normalize_no_account(value: str) -> str:
    try:
        return no_kontonr.format(no_kontonr.validate(value))
    except StdnumError as exc:
        raise _fail(_("Norwegian account number"), value, exc, "invalid_account_number") from None


# Peppol participant identifier schemes (ISO 6523 ICD) we know and can check.
PEPPOL_SCHEMES = {
    "0007": ("SE", "org"),  # Swedish organisation number
    "0192": ("NO", "org"),  # Norwegian organisation number (Enhetsregisteret)
    "9955": ("SE", "vat"),  # Swedish VAT number; left the Peppol list, invoicing/ubl.py sends 0007
    "0184": ("DK", "org"),  # Danish CVR
    "0037": ("FI", "org"),  # Finnish business id (LY-tunnus); invoicing/ubl.py sends it as 0216 (OVT)
    "0216": ("FI", "any"),  # Finnish OVT code: 0037 + business id + optional suffix
    "0088": (None, "gln"),  # GS1 global location number
    "0208": (None, "any"),  # Belgian enterprise number
    "9930": ("DE", "vat"),  # German VAT number
}


def normalize_peppol_id(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    match = re.fullmatch(r"(?:iso6523-actorid-upis::)?(\d{4}):(\S+)", value)
    if not match:
        raise ValidationError(
            _("A Peppol id is scheme:identifier, for example 0007:5560360793 or 0192:995525828."),
            code="invalid_peppol_id",
        )
    scheme, identifier = match.groups()
    if scheme not in PEPPOL_SCHEMES:
        raise ValidationError(
            _("Peppol scheme %(scheme)s is not one we know (%(known)s).")
            % {"scheme": scheme, "known": ", ".join(sorted(PEPPOL_SCHEMES))},
            code="invalid_peppol_scheme",
        )
    country, kind = PEPPOL_SCHEMES[scheme]
    if kind == "org" and country:
        identifier = org_digits(normalize_org_number(country, identifier))
    elif kind == "vat" and country:
        identifier = normalize_vat_number(country, identifier)
    return f"{scheme}:{identifier}"


def normalize_party(instance, *, peppol_field: str) -> dict[str, list[str]]:
    """Normalise a company's or customer's org number, VAT number and Peppol id in place.

    Returns field errors (empty when all is well) for the model's clean() to raise together with
    its own.
    """
    errors: dict[str, list[str]] = {}
    for field, normalize in (("org_number", normalize_org_number), ("vat_number", normalize_vat_number)):
        try:
            setattr(instance, field, normalize(instance.country, getattr(instance, field)))
        except ValidationError as exc:
            errors[field] = exc.messages
    if not errors:
        try:
            check_vat_matches_org_number(instance.country, instance.org_number, instance.vat_number)
        except ValidationError as exc:
            errors["vat_number"] = exc.messages
    try:
        setattr(instance, peppol_field, normalize_peppol_id(getattr(instance, peppol_field)))
    except ValidationError as exc:
        errors[peppol_field] = exc.messages
    return errors
