"""Peppol BIS Billing 3.0 UBL for invoices and credit notes.

Built at issue from what the invoice froze (the seller and buyer snapshots, the saved lines, the
stored totals), never from live rows, so the e-invoice says what the PDF says. Every document must
pass the UBL 2.1 XSD, the EN 16931 rules and the Peppol rules (../shared/tools/validate_peppol.py);
the choices below that are not obvious are there for one of those rules:

- Both parties need an electronic address (PEPPOL-EN16931-R010/R020). A party without a Peppol id is
  addressed by its organisation number (0007 Sweden, 0192 Norway, ...) or, failing that, its VAT
  number; a buyer with neither cannot be addressed at all, and then there is no UBL ("").
- A line discount is a line allowance (reason code 95) on the gross amount: the price stays the
  order's unit price and LineExtensionAmount is the stored, rounded line net, so
  net = quantity × price − allowance holds to the öre (PEPPOL-EN16931-R120, R040).
- "Godkänd för F-skatt" is the seller's tax registration (BT-32, PartyTaxScheme "TAX"), where the
  Swedish rule SE-R-005 looks for it; a Norwegian AS/ASA states "Foretaksregisteret" there (NO-R-002).
- Bankgiro and plusgiro are credit transfers (code 30) with branch SE:BANKGIRO / SE:PLUSGIRO
  (SE-R-007..011); an IBAN carries its BIC; a Norwegian account is its 11 digits.
- A foreign-currency document states its VAT once more in the company's currency, in a second
  TaxTotal without breakdown (BR-53, PEPPOL-EN16931-R054).
"""

import functools
import re
from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext as _
from lxml import etree

from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.money import round_money
from orders.models import VatCategoryCode

from .models import Invoice, InvoiceAllowanceCharge, InvoiceLine
from .services.drafting import totals_compute

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
INVOICE_TYPE_CODE = "380"
CREDIT_NOTE_TYPE_CODE = "381"
CREDIT_TRANSFER = "30"
DISCOUNT_REASON_CODE = "95"  # UNCL 5189: discount

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}

# Peppol electronic address schemes (EAS) made from an organisation number, by country: the scheme,
# the number's length in digits and what goes before it. Finland's is the OVT code, 0037 and the
# business id (EAS 0037, the business id alone, has left the code list).
ORG_NUMBER_SCHEMES = {
    "SE": ("0007", 10, ""),
    "NO": ("0192", 9, ""),
    "DK": ("0184", 8, ""),
    "FI": ("0216", 8, "0037"),
    "BE": ("0208", 10, ""),
}
# Where the organisation number sits inside a VAT number.
ORG_NUMBER_IN_VAT = {
    "SE": re.compile(r"SE(\d{10})01"),
    "NO": re.compile(r"NO(\d{9})MVA"),
    "DK": re.compile(r"DK(\d{8})"),
    "FI": re.compile(r"FI(\d{8})"),
    "BE": re.compile(r"BE(\d{10})"),
}
# The legal registration (BT-30, BT-47) schemes (ISO 6523 ICD) we state.
LEGAL_ID_SCHEMES = {"SE": ("0007", 10), "NO": ("0192", 9), "DK": ("0184", 8)}
# EAS schemes for a VAT number, where the country has no organisation number scheme above.
VAT_NUMBER_SCHEMES = {
    "AT": "9914",
    "DE": "9930",
    "EE": "9931",
    "ES": "9920",
    "FR": "9957",
    "GB": "9932",
    "IE": "9935",
    "LT": "9937",
    "LV": "9939",
    "NL": "9944",
    "PL": "9945",
}
# Schemes withdrawn from the EAS code list (9955 Swedish VAT number, 0037 Finnish business id): a
# participant registered under one is addressed by its organisation number, by that country's scheme.
WITHDRAWN_SCHEMES = {"9955": "SE", "0037": "FI"}

# Categories whose VAT breakdown must say why no VAT is charged (BR-E-10, BR-AE-10, BR-IC-10,
# BR-G-10, BR-O-10); S and Z must not (BR-S-10, BR-Z-10).
CATEGORIES_WITH_EXEMPTION_REASON = frozenset({"E", "AE", "K", "G", "O"})
NOT_SUBJECT_TO_VAT = "O"


def invoice_ubl(invoice: Invoice) -> str:
    """The UBL 2.1 document (XML text with its declaration) for an issued invoice or credit note.

    Empty when the buyer has no Peppol id and nothing to derive an electronic address from: such a
    document could not be delivered over Peppol, and Peppol forbids one without an address.
    """
    buyer_endpoint = party_endpoint(
        invoice.buyer.get("peppol_endpoint", ""),
        country=invoice.buyer.get("country", ""),
        org_number=invoice.buyer.get("org_number", ""),
        vat_number=invoice.buyer.get("vat_number", ""),
    )
    if buyer_endpoint is None:
        return ""
    with translation.override(invoice.language or "sv"):
        root = _Document(invoice, buyer_endpoint).build()
    return XML_DECLARATION + etree.tostring(root, encoding="unicode", pretty_print=False)


class _Document:
    def __init__(self, invoice: Invoice, buyer_endpoint: tuple[str, str]) -> None:
        self.invoice = invoice
        self.currency = invoice.currency
        self.credit_note = invoice.is_credit_note
        self.buyer_endpoint = buyer_endpoint
        # Through .all(), sorted here: the invoice run hands over lines it already holds (a
        # prefetch cache), and a query per invoice would halve its rate.
        self.lines: list[InvoiceLine] = sorted(invoice.lines.all(), key=lambda line: (line.position, line.pk or 0))
        self.allowance_charges: list[InvoiceAllowanceCharge] = sorted(
            invoice.allowance_charges.all(), key=lambda ac: ac.pk or 0
        )
        # Not subject to VAT: the document must carry no VAT number at all (BR-O-02..04).
        self.vat_numbers_shown = not any(
            code == NOT_SUBJECT_TO_VAT
            for code in [line.vat_category_code for line in self.lines]
            + [ac.vat_category_code for ac in self.allowance_charges]
        )

    # --- the document ---------------------------------------------------------------------------

    def build(self) -> etree._Element:
        invoice = self.invoice
        namespace = NS_CREDIT_NOTE if self.credit_note else NS_INVOICE
        root = etree.Element(
            f"{{{namespace}}}{'CreditNote' if self.credit_note else 'Invoice'}", nsmap={None: namespace, **NS}
        )
        _sub(root, "cbc:CustomizationID", CUSTOMIZATION_ID)
        _sub(root, "cbc:ProfileID", PROFILE_ID)
        _sub(root, "cbc:ID", invoice.number)
        _sub(root, "cbc:IssueDate", invoice.issue_date.isoformat())
        if self.credit_note:
            _sub(root, "cbc:CreditNoteTypeCode", CREDIT_NOTE_TYPE_CODE)
        else:
            if invoice.due_date:
                _sub(root, "cbc:DueDate", invoice.due_date.isoformat())
            _sub(root, "cbc:InvoiceTypeCode", INVOICE_TYPE_CODE)
        # Peppol allows one document note (PEPPOL-EN16931-R002).
        _sub(root, "cbc:Note", "\n".join(text for text in (invoice.reason, invoice.note) if text.strip()))
        _sub(root, "cbc:DocumentCurrencyCode", self.currency)
        tax_currency = self._tax_currency()
        _sub(root, "cbc:TaxCurrencyCode", tax_currency)
        # A buyer reference or an order reference is required (PEPPOL-EN16931-R003); without
        # either, the customer number is the reference both sides know.
        buyer_reference = invoice.buyer_reference or ("" if invoice.order_reference else invoice.buyer.get("number"))
        _sub(root, "cbc:BuyerReference", buyer_reference)
        if invoice.period_start and invoice.period_end:
            period = _sub(root, "cac:InvoicePeriod")
            _sub(period, "cbc:StartDate", invoice.period_start.isoformat())
            _sub(period, "cbc:EndDate", invoice.period_end.isoformat())
        if invoice.order_reference:
            _sub(_sub(root, "cac:OrderReference"), "cbc:ID", invoice.order_reference)
        if self.credit_note and invoice.credited_invoice_id:
            credited = invoice.credited_invoice
            reference = _sub(_sub(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
            _sub(reference, "cbc:ID", credited.number)
            _sub(reference, "cbc:IssueDate", credited.issue_date.isoformat())
        self._seller(_sub(_sub(root, "cac:AccountingSupplierParty"), "cac:Party"))
        self._buyer(_sub(_sub(root, "cac:AccountingCustomerParty"), "cac:Party"))
        self._delivery(root)
        if not self.credit_note:
            self._payment_means(root)
        self._payment_terms(root)
        for ac in self.allowance_charges:
            self._allowance_charge(root, ac)
        self._tax_totals(root, tax_currency)
        self._monetary_total(root)
        for line in self.lines:
            self._line(root, line)
        return root

    def _tax_currency(self) -> str:
        base = self.invoice.seller.get("base_currency") or self.invoice.company.base_currency
        if base != self.currency and self.invoice.vat_amount_base is not None:
            return base
        return ""

    # --- parties --------------------------------------------------------------------------------

    def _seller(self, party: etree._Element) -> None:
        seller = self.invoice.seller
        country = seller.get("country", "")
        endpoint = party_endpoint(
            seller.get("peppol_id", ""),
            country=country,
            org_number=seller.get("org_number", ""),
            vat_number=seller.get("vat_number", ""),
        )
        if endpoint is None:
            raise ApplicationError(
                code=ErrorCode.INVALID_STATE,
                message=_("The company needs a Peppol id or an organisation number for e-invoices."),
            )
        _sub(party, "cbc:EndpointID", endpoint[1], schemeID=endpoint[0])
        _sub(_sub(party, "cac:PartyName"), "cbc:Name", seller.get("name"))
        _address(party, "cac:PostalAddress", seller)
        if self.vat_numbers_shown:
            _party_tax_scheme(party, _vat_number(seller.get("vat_number", "")), "VAT")
        if country == "SE" and seller.get("f_skatt"):
            _party_tax_scheme(party, "Godkänd för F-skatt", "TAX")
        elif country == "NO" and re.search(r"\bASA?\b", seller.get("name", "")):
            # An AS or ASA must say it is in the Register of Business Enterprises (foretaksregisterloven § 10-2).
            _party_tax_scheme(party, "Foretaksregisteret", "TAX")
        _legal_entity(party, seller.get("name"), country, seller.get("org_number", ""))
        _contact(party, phone=seller.get("phone", ""), email=seller.get("email", ""))

    def _buyer(self, party: etree._Element) -> None:
        buyer = self.invoice.buyer
        _sub(party, "cbc:EndpointID", self.buyer_endpoint[1], schemeID=self.buyer_endpoint[0])
        _sub(_sub(party, "cac:PartyName"), "cbc:Name", buyer.get("name"))
        _address(party, "cac:PostalAddress", buyer)
        vat_number = _vat_number(buyer.get("vat_number", ""))
        # A VAT identifier starts with its country's code (BR-CO-09); anything else is not one.
        if self.vat_numbers_shown and re.match(r"[A-Z]{2}", vat_number):
            _party_tax_scheme(party, vat_number, "VAT")
        _legal_entity(party, buyer.get("name"), buyer.get("country", ""), buyer.get("org_number", ""))
        _contact(party, phone="", email=buyer.get("email", ""))

    def _delivery(self, root: etree._Element) -> None:
        delivery = self.invoice.buyer.get("delivery") or {}
        has_address = bool(delivery.get("country") and (delivery.get("street") or delivery.get("city")))
        if not (self.invoice.delivery_date or has_address):
            return
        element = _sub(root, "cac:Delivery")
        if self.invoice.delivery_date:
            _sub(element, "cbc:ActualDeliveryDate", self.invoice.delivery_date.isoformat())
        if has_address:
            _address(_sub(element, "cac:DeliveryLocation"), "cac:Address", delivery)
            if delivery.get("name"):
                _sub(_sub(_sub(element, "cac:DeliveryParty"), "cac:PartyName"), "cbc:Name", delivery["name"])

    # --- payment --------------------------------------------------------------------------------

    def _payment_means(self, root: etree._Element) -> None:
        for number, branch in _payee_accounts(self.invoice.seller.get("bank_accounts") or [], self.currency):
            means = _sub(root, "cac:PaymentMeans")
            _sub(means, "cbc:PaymentMeansCode", CREDIT_TRANSFER)
            _sub(means, "cbc:PaymentID", self.invoice.payment_reference)
            account = _sub(means, "cac:PayeeFinancialAccount")
            _sub(account, "cbc:ID", number)
            if branch:
                _sub(_sub(account, "cac:FinancialInstitutionBranch"), "cbc:ID", branch)

    def _payment_terms(self, root: etree._Element) -> None:
        invoice = self.invoice
        if self.credit_note:
            credited = invoice.credited_invoice.number if invoice.credited_invoice_id else ""
            text = _("Credits invoice %(number)s. The amount is set off against open invoices or paid back.") % {
                "number": credited
            }
        else:
            text = _("Net %(days)d days.") % {"days": invoice.payment_terms_days}
            if invoice.early_payment_discount_percent and invoice.early_payment_discount_days:
                text += " " + _("%(percent)s %% discount if paid within %(days)d days.") % {
                    "percent": _plain(invoice.early_payment_discount_percent),
                    "days": invoice.early_payment_discount_days,
                }
        _sub(_sub(root, "cac:PaymentTerms"), "cbc:Note", text)

    # --- allowances, charges, VAT, totals -------------------------------------------------------

    def _allowance_charge(self, root: etree._Element, ac: InvoiceAllowanceCharge) -> None:
        element = _sub(root, "cac:AllowanceCharge")
        _sub(element, "cbc:ChargeIndicator", "true" if ac.is_charge else "false")
        _sub(element, "cbc:AllowanceChargeReason", ac.reason)
        self._amount(element, "cbc:Amount", ac.amount)
        _tax_category(element, "cac:TaxCategory", ac.vat_category_code, ac.vat_rate)

    def _tax_totals(self, root: etree._Element, tax_currency: str) -> None:
        invoice = self.invoice
        totals = totals_compute(
            lines=[(line.vat_category_code, line.vat_rate, line.net_amount) for line in self.lines],
            allowance_charges=[
                (ac.is_charge, ac.vat_category_code, ac.vat_rate, ac.amount) for ac in self.allowance_charges
            ],
            currency=self.currency,
            round_to_whole_units_=False,
        )
        stored = (
            invoice.net_amount,
            invoice.allowance_amount,
            invoice.charge_amount,
            invoice.vat_amount,
            invoice.gross_amount,
        )
        computed = (
            totals.net_amount,
            totals.allowance_amount,
            totals.charge_amount,
            totals.vat_amount,
            totals.gross_amount,
        )
        if stored != computed:
            # The stored totals are what the PDF shows and what is booked; an e-invoice whose lines
            # say otherwise would be refused by the receiver, so stop the issue instead.
            raise ApplicationError(
                code=ErrorCode.INVALID_STATE,
                message=_("The totals of %(invoice)s do not match its lines; recalculate it before issuing.")
                % {"invoice": invoice},
            )
        reasons = self._exemption_reasons()
        tax_total = _sub(root, "cac:TaxTotal")
        self._amount(tax_total, "cbc:TaxAmount", invoice.vat_amount)
        for row in totals.vat_breakdown:
            subtotal = _sub(tax_total, "cac:TaxSubtotal")
            self._amount(subtotal, "cbc:TaxableAmount", row.taxable_amount)
            self._amount(subtotal, "cbc:TaxAmount", row.vat_amount)
            reason = reasons.get((row.category_code, row.rate), ("", ""))
            _tax_category(subtotal, "cac:TaxCategory", row.category_code, row.rate, exemption=reason)
        if tax_currency:
            _sub(_sub(root, "cac:TaxTotal"), "cbc:TaxAmount", _money(invoice.vat_amount_base), currencyID=tax_currency)

    def _exemption_reasons(self) -> dict[tuple[str, Decimal], tuple[str, str]]:
        """Why no VAT is charged, per category and rate, as the lines (or the charges' categories) say."""
        reasons: dict[tuple[str, Decimal], tuple[str, str]] = {}
        for line in self.lines:
            key = (line.vat_category_code, Decimal(line.vat_rate).normalize())
            if line.vat_exemption_reason or line.vat_exemption_reason_code:
                reasons.setdefault(key, (line.vat_exemption_reason, line.vat_exemption_reason_code))
        for ac in self.allowance_charges:
            key = (ac.vat_category_code, Decimal(ac.vat_rate).normalize())
            if key in reasons or ac.vat_category_code not in CATEGORIES_WITH_EXEMPTION_REASON:
                continue
            category = ac.vat_category  # only an allowance or charge without a line of its category
            if category.exemption_reason or category.exemption_reason_code:
                reasons[key] = (category.exemption_reason, category.exemption_reason_code)
        return reasons

    def _monetary_total(self, root: etree._Element) -> None:
        invoice = self.invoice
        total = _sub(root, "cac:LegalMonetaryTotal")
        self._amount(total, "cbc:LineExtensionAmount", invoice.net_amount)
        self._amount(
            total, "cbc:TaxExclusiveAmount", invoice.net_amount - invoice.allowance_amount + invoice.charge_amount
        )
        self._amount(total, "cbc:TaxInclusiveAmount", invoice.gross_amount)
        if any(not ac.is_charge for ac in self.allowance_charges):
            self._amount(total, "cbc:AllowanceTotalAmount", invoice.allowance_amount)
        if any(ac.is_charge for ac in self.allowance_charges):
            self._amount(total, "cbc:ChargeTotalAmount", invoice.charge_amount)
        if invoice.rounding_amount:
            self._amount(total, "cbc:PayableRoundingAmount", invoice.rounding_amount)
        self._amount(total, "cbc:PayableAmount", invoice.payable_amount)

    # --- lines ----------------------------------------------------------------------------------

    def _line(self, root: etree._Element, line: InvoiceLine) -> None:
        element = _sub(root, "cac:CreditNoteLine" if self.credit_note else "cac:InvoiceLine")
        _sub(element, "cbc:ID", str(line.position))
        quantity_tag = "cbc:CreditedQuantity" if self.credit_note else "cbc:InvoicedQuantity"
        _sub(element, quantity_tag, _plain(line.quantity), unitCode=line.unit)
        self._amount(element, "cbc:LineExtensionAmount", line.net_amount)
        if line.discount_percent:
            # The discount on the gross line amount; the net is the stored, rounded line net.
            gross = round_money(line.quantity * line.unit_price, self.currency)
            allowance = _sub(element, "cac:AllowanceCharge")
            _sub(allowance, "cbc:ChargeIndicator", "false")
            _sub(allowance, "cbc:AllowanceChargeReasonCode", DISCOUNT_REASON_CODE)
            _sub(allowance, "cbc:AllowanceChargeReason", _("Discount"))
            _sub(allowance, "cbc:MultiplierFactorNumeric", _plain(line.discount_percent))
            self._amount(allowance, "cbc:Amount", gross - line.net_amount)
            self._amount(allowance, "cbc:BaseAmount", gross)
        item = _sub(element, "cac:Item")
        _sub(item, "cbc:Name", line.description)
        if line.sku:
            _sub(_sub(item, "cac:SellersItemIdentification"), "cbc:ID", line.sku)
        _tax_category(item, "cac:ClassifiedTaxCategory", line.vat_category_code, line.vat_rate)
        price = _sub(element, "cac:Price")
        self._amount(price, "cbc:PriceAmount", line.unit_price)

    def _amount(self, parent: etree._Element, tag: str, value: Decimal) -> etree._Element:
        return _sub(parent, tag, _money(value), currencyID=self.currency)


# --- helpers ------------------------------------------------------------------------------------


_CONTAINER = object()


def _sub(parent: etree._Element, tag: str, text=_CONTAINER, **attributes: str) -> etree._Element | None:
    """Append `prefix:Name`, holding `text` or, without it, other elements. An element meant to hold
    text is left out when the text is empty or missing (Peppol refuses empty elements, R008)."""
    if text is not _CONTAINER:
        text = "" if text is None else str(text).strip()
        if not text:
            return None
    element = etree.SubElement(parent, _qualified(tag), attributes)
    if text is not _CONTAINER:
        element.text = text
    return element


@functools.cache
def _qualified(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{NS[prefix]}}}{name}"


def _money(value: Decimal) -> str:
    return format(Decimal(value).quantize(Decimal("0.01")), "f")


def _plain(value: Decimal) -> str:
    """A quantity or percentage without trailing zeros or an exponent: 2.000 -> 2, 10.00 -> 10."""
    return format(Decimal(value).normalize(), "f")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def _vat_number(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value or "").upper()


def party_endpoint(participant_id: str, *, country: str, org_number: str, vat_number: str) -> tuple[str, str] | None:
    """(EAS scheme, identifier): the Peppol id when there is one, else one made from the party's numbers."""
    participant_id = (participant_id or "").strip().removeprefix("iso6523-actorid-upis::")
    scheme, _sep, identifier = participant_id.partition(":")
    identifier = identifier.strip()
    if scheme and identifier:
        if scheme not in WITHDRAWN_SCHEMES:
            digits_only = scheme in {"0007", "0192", "0184"}
            return scheme, (_digits(identifier) if digits_only else "") or identifier
        country, org_number, vat_number = WITHDRAWN_SCHEMES[scheme], identifier, identifier
    vat = _vat_number(vat_number)
    if country in ORG_NUMBER_SCHEMES:
        scheme, length, prefix = ORG_NUMBER_SCHEMES[country]
        digits = _digits(org_number)
        match = ORG_NUMBER_IN_VAT[country].fullmatch(vat)
        if len(digits) == length:
            return scheme, prefix + digits
        if match:
            return scheme, prefix + match.group(1)
    if country in VAT_NUMBER_SCHEMES and vat.startswith(country):
        return VAT_NUMBER_SCHEMES[country], vat
    return None


def _address(parent: etree._Element, tag: str, party: dict) -> None:
    address = _sub(parent, tag)
    _sub(address, "cbc:StreetName", party.get("street"))
    _sub(address, "cbc:CityName", party.get("city"))
    _sub(address, "cbc:PostalZone", party.get("postal_code"))
    _sub(_sub(address, "cac:Country"), "cbc:IdentificationCode", party.get("country"))


def _party_tax_scheme(party: etree._Element, company_id: str, scheme: str) -> None:
    if not company_id:
        return
    element = _sub(party, "cac:PartyTaxScheme")
    _sub(element, "cbc:CompanyID", company_id)
    _sub(_sub(element, "cac:TaxScheme"), "cbc:ID", scheme)


def _legal_entity(party: etree._Element, name: str, country: str, org_number: str) -> None:
    entity = _sub(party, "cac:PartyLegalEntity")
    _sub(entity, "cbc:RegistrationName", name)
    if not org_number:
        return
    scheme, length = LEGAL_ID_SCHEMES.get(country, ("", 0))
    digits = _digits(org_number)
    if scheme and len(digits) == length:
        _sub(entity, "cbc:CompanyID", digits, schemeID=scheme)
    else:
        _sub(entity, "cbc:CompanyID", org_number)


def _contact(party: etree._Element, *, phone: str, email: str) -> None:
    if not (phone or email):
        return
    contact = _sub(party, "cac:Contact")
    _sub(contact, "cbc:Telephone", phone)
    _sub(contact, "cbc:ElectronicMail", email)


def _tax_category(
    parent: etree._Element, tag: str, code: str, rate: Decimal, *, exemption: tuple[str, str] | None = None
) -> None:
    """A VAT category. `exemption` (text, VATEX code) is given in the VAT breakdown, the one place
    that states why no VAT is charged."""
    category = _sub(parent, tag)
    _sub(category, "cbc:ID", code)
    if code != NOT_SUBJECT_TO_VAT:  # "not subject to VAT" has no rate at all (BR-O-05..08)
        _sub(category, "cbc:Percent", _plain(rate))
    if exemption is not None and code in CATEGORIES_WITH_EXEMPTION_REASON:
        text, vatex = exemption
        _sub(category, "cbc:TaxExemptionReasonCode", vatex)
        # The category's own name when it was set up without a text: the rules need one or the other.
        _sub(category, "cbc:TaxExemptionReason", text or ("" if vatex else str(VatCategoryCode(code).label)))
    _sub(_sub(category, "cac:TaxScheme"), "cbc:ID", "VAT")


def _payee_accounts(accounts: list[dict], currency: str) -> list[tuple[str, str]]:
    """(account id, branch id) for each bank account the invoice can be paid to in its currency.

    Bankgiro and plusgiro take kronor, a Norwegian account kroner; an IBAN takes anything. If the
    company has no account for the currency, all are shown rather than none.
    """
    domestic = {"bankgiro": "SEK", "plusgiro": "SEK", "no_account": "NOK"}
    usable = [a for a in accounts if domestic.get(a.get("kind"), currency) == currency] or list(accounts)
    result = []
    for account in usable:
        kind, number = account.get("kind"), account.get("number", "")
        if kind == "bankgiro":
            result.append((_digits(number), "SE:BANKGIRO"))
        elif kind == "plusgiro":
            result.append((_digits(number), "SE:PLUSGIRO"))
        elif kind == "no_account":
            result.append((_digits(number), ""))
        elif kind == "iban":
            result.append((re.sub(r"\s", "", number).upper(), account.get("bic", "")))
    return [(number, branch) for number, branch in result if number]
