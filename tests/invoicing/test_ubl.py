"""Peppol BIS Billing 3.0 UBL of issued invoices and credit notes.

Every document made here must pass ../shared/tools/validate_peppol.py (UBL 2.1 XSD, EN 16931 and
Peppol rules) and say what the invoice says: the amounts below are worked out by hand.
"""

import datetime
from decimal import Decimal

import pytest
from lxml import etree

from invoicing import references, services
from invoicing.models import ExchangeRate, Invoice
from invoicing.services import ManualLine
from invoicing.ubl import invoice_ubl, party_endpoint
from orders.models import BankAccount, Company, NumberSeries
from tests.factories import CustomerFactory, vat_category
from tests.invoicing.conftest import SHIP_DATE

pytestmark = pytest.mark.django_db

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
ISSUE_DATE = datetime.date(2026, 3, 3)
DELIVERY_DATE = datetime.date(2026, 3, 2)


def parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8"))


def texts(root: etree._Element, path: str) -> list[str]:
    return [node if isinstance(node, str) else node.text for node in root.xpath(path, namespaces=NS)]


def text(root: etree._Element, path: str) -> str:
    found = texts(root, path)
    assert len(found) == 1, f"{path}: {found}"
    return found[0]


def vat_breakdown(root: etree._Element) -> list[tuple]:
    """(category, rate, taxable, VAT, exemption code, exemption text) per TaxSubtotal."""
    return [
        (
            text(row, "cac:TaxCategory/cbc:ID"),
            (texts(row, "cac:TaxCategory/cbc:Percent") or [None])[0],
            text(row, "cbc:TaxableAmount"),
            text(row, "cbc:TaxAmount"),
            (texts(row, "cac:TaxCategory/cbc:TaxExemptionReasonCode") or [""])[0],
            (texts(row, "cac:TaxCategory/cbc:TaxExemptionReason") or [""])[0],
        )
        for row in root.xpath("cac:TaxTotal/cac:TaxSubtotal", namespaces=NS)
    ]


def line(description, quantity, price, category="standard", *, discount="0", unit="C62", country="SE"):
    return ManualLine(
        description=description,
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        vat_category=vat_category(category, country),
        discount_percent=Decimal(discount),
        unit=unit,
    )


@pytest.fixture
def issue_manual(finance, finance2):
    """issue_manual(customer, [line(...)], allowances=[(is_charge, reason, amount, category)]) -> issued invoice."""

    def make(customer, lines, *, allowances=(), buyer_reference="Anna Andersson", issue_date=ISSUE_DATE):
        draft = services.invoice_draft_manual(
            customer=customer,
            lines=lines,
            actor=finance,
            delivery_date=DELIVERY_DATE,
            buyer_reference=buyer_reference,
        )
        for is_charge, reason, amount, category in allowances:
            services.invoice_allowance_charge_add(
                invoice=draft,
                is_charge=is_charge,
                reason=reason,
                amount=Decimal(amount),
                vat_category=category,
                actor=finance,
            )
        draft.refresh_from_db()
        if draft.status == "draft":
            services.invoice_approve(invoice=draft, actor=finance2)
        return services.invoice_issue(invoice=draft, actor=finance2, issue_date=issue_date)

    return make


@pytest.fixture
def credit(finance, finance2):
    """credit(invoice, lines=None) -> the issued credit note (in full when lines is None)."""

    def make(invoice: Invoice, lines=None, reason="Returned goods") -> Invoice:
        note = services.credit_note_create(invoice=invoice, reason=reason, actor=finance, lines=lines)
        services.invoice_approve(invoice=note, actor=finance2)
        return services.invoice_issue(invoice=note, actor=finance2, issue_date=ISSUE_DATE + datetime.timedelta(days=5))

    return make


@pytest.fixture
def swedish_buyer(db):
    return CustomerFactory(
        name="Volvo Kund AB",
        org_number="556036-0793",
        vat_number="SE556036079301",
        peppol_endpoint="0007:5560360793",
        invoice_email="faktura@kund.example",
        credit_limit=Decimal("10000000"),
        early_payment_discount_percent=Decimal("2.00"),
        early_payment_discount_days=10,
    )


def test_a_shipped_order_with_two_vat_rates(issued, swedish_buyer, peppol):
    invoice = issued({"PUMP": 2, "BOOK": 3}, customer=swedish_buyer, customer_reference="Anna Andersson")

    assert peppol.assert_valid(invoice.ubl) == []
    doc = parse(invoice.ubl)
    assert etree.QName(doc).localname == "Invoice"
    assert text(doc, "cbc:CustomizationID") == (
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
    )
    assert text(doc, "cbc:ProfileID") == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert (text(doc, "cbc:ID"), text(doc, "cbc:InvoiceTypeCode")) == (invoice.number, "380")
    assert text(doc, "cbc:IssueDate") == invoice.issue_date.isoformat()
    assert text(doc, "cbc:DueDate") == invoice.due_date.isoformat()
    assert text(doc, "cbc:BuyerReference") == "Anna Andersson"
    assert text(doc, "cac:OrderReference/cbc:ID") == str(invoice.order.number)
    # 2 × 1000.00 at 25 % and 3 × 199.00 at 6 %: VAT 500.00 + 35.82 on the rates' sums.
    assert vat_breakdown(doc) == [
        ("S", "25", "2000.00", "500.00", "", ""),
        ("S", "6", "597.00", "35.82", "", ""),
    ]
    assert text(doc, "cac:TaxTotal/cbc:TaxAmount") == "535.82"
    assert text(doc, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount") == "2597.00"
    assert text(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "3132.82"
    assert set(texts(doc, "//@currencyID")) == {"SEK"}
    # Paid by bankgiro with the OCR reference.
    assert references.ocr_is_valid(invoice.payment_reference)
    assert text(doc, "cac:PaymentMeans/cbc:PaymentMeansCode") == "30"
    assert text(doc, "cac:PaymentMeans/cbc:PaymentID") == invoice.payment_reference
    assert text(doc, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == "50501055"
    assert text(doc, "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID") == (
        "SE:BANKGIRO"
    )
    terms = text(doc, "cac:PaymentTerms/cbc:Note")
    assert "30" in terms and "2 %" in terms and "10" in terms
    # The seller has no Peppol id: addressed by its organisation number; F-skatt as its tax registration.
    seller = doc.xpath("cac:AccountingSupplierParty/cac:Party", namespaces=NS)[0]
    assert (text(seller, "cbc:EndpointID/@schemeID"), text(seller, "cbc:EndpointID")) == ("0007", "5561234567")
    assert text(seller, "cac:PartyLegalEntity/cbc:CompanyID") == "5561234567"
    assert text(seller, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID") == "SE556123456701"
    assert text(seller, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='TAX']/cbc:CompanyID") == "Godkänd för F-skatt"
    buyer = doc.xpath("cac:AccountingCustomerParty/cac:Party", namespaces=NS)[0]
    assert (text(buyer, "cbc:EndpointID/@schemeID"), text(buyer, "cbc:EndpointID")) == ("0007", "5560360793")
    assert text(buyer, "cac:PartyTaxScheme/cbc:CompanyID") == "SE556036079301"
    assert text(buyer, "cac:Contact/cbc:ElectronicMail") == "faktura@kund.example"
    assert text(doc, "cac:Delivery/cbc:ActualDeliveryDate") == SHIP_DATE.isoformat()
    assert text(doc, "cac:Delivery/cac:DeliveryLocation/cac:Address/cbc:CityName") == "Göteborg"
    assert texts(doc, "cac:InvoiceLine/cbc:InvoicedQuantity") == ["2", "3"]
    assert texts(doc, "cac:InvoiceLine/cac:Item/cac:SellersItemIdentification/cbc:ID") == ["PUMP", "BOOK"]


def test_a_collective_invoice_states_its_period_and_falls_back_to_the_customer_number(
    shipped, swedish_buyer, finance, finance2, peppol
):
    first, second = shipped({"PUMP": 1}, customer=swedish_buyer), shipped({"BOOK": 2}, customer=swedish_buyer)
    draft = services.invoice_draft_from_shipments(
        shipment_ids=[first.pk, second.pk],
        actor=finance,
        period=(datetime.date(2026, 2, 1), datetime.date(2026, 2, 28)),
    )
    services.invoice_approve(invoice=draft, actor=finance2)
    invoice = services.invoice_issue(invoice=draft, actor=finance2, issue_date=ISSUE_DATE)

    assert peppol.assert_valid(invoice.ubl) == []
    doc = parse(invoice.ubl)
    assert (text(doc, "cac:InvoicePeriod/cbc:StartDate"), text(doc, "cac:InvoicePeriod/cbc:EndDate")) == (
        "2026-02-01",
        "2026-02-28",
    )
    # Two orders: no one order reference and no buyer's reference, so the customer number is the reference.
    assert doc.xpath("cac:OrderReference", namespaces=NS) == []
    assert text(doc, "cbc:BuyerReference") == swedish_buyer.number
    assert text(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "1671.88"  # 1250.00 + 398.00 + 23.88


def test_line_discounts_with_a_document_allowance_and_charge(seller, swedish_buyer, issue_manual, peppol):
    standard = vat_category("standard")
    invoice = issue_manual(
        swedish_buyer,
        [
            line("Heat pump", "3", "1000.00", discount="10"),  # 3000.00 - 300.00 = 2700.00
            line("Filter", "7", "33.33", discount="12.5"),  # 233.31 - 29.16 = 204.15 (204.14625 rounded)
            line("Manual", "2", "199.00", "reduced_culture"),  # 398.00 at 6 %
            line("Cable", "2.5", "19.90", discount="5", unit="MTR"),  # 49.75 - 2.49 = 47.26
        ],
        allowances=[(False, "Bonus", "100.00", standard), (True, "Freight", "150.00", standard)],
    )

    assert peppol.assert_valid(invoice.ubl) == []
    doc = parse(invoice.ubl)
    # 25 %: 2700.00 + 204.15 + 47.26 - 100.00 + 150.00 = 3001.41, VAT 750.35; 6 %: 398.00, VAT 23.88.
    assert vat_breakdown(doc) == [
        ("S", "25", "3001.41", "750.35", "", ""),
        ("S", "6", "398.00", "23.88", "", ""),
    ]
    totals = {etree.QName(node).localname: node.text for node in doc.xpath("cac:LegalMonetaryTotal/*", namespaces=NS)}
    assert totals == {
        "LineExtensionAmount": "3349.41",
        "TaxExclusiveAmount": "3399.41",
        "TaxInclusiveAmount": "4173.64",
        "AllowanceTotalAmount": "100.00",
        "ChargeTotalAmount": "150.00",
        "PayableAmount": "4173.64",
    }
    assert invoice.payable_amount == Decimal("4173.64")
    document_level = doc.xpath("cac:AllowanceCharge", namespaces=NS)
    assert [
        (text(ac, "cbc:ChargeIndicator"), text(ac, "cbc:AllowanceChargeReason"), text(ac, "cbc:Amount"))
        for ac in document_level
    ] == [("false", "Bonus", "100.00"), ("true", "Freight", "150.00")]
    assert texts(doc, "cac:AllowanceCharge/cac:TaxCategory/cbc:Percent") == ["25", "25"]
    lines = doc.xpath("cac:InvoiceLine", namespaces=NS)
    assert [
        (
            text(row, "cbc:LineExtensionAmount"),
            text(row, "cac:Price/cbc:PriceAmount"),
            texts(row, "cac:AllowanceCharge/cbc:MultiplierFactorNumeric"),
            texts(row, "cac:AllowanceCharge/cbc:BaseAmount"),
            texts(row, "cac:AllowanceCharge/cbc:Amount"),
        )
        for row in lines
    ] == [
        ("2700.00", "1000.00", ["10"], ["3000.00"], ["300.00"]),
        ("204.15", "33.33", ["12.5"], ["233.31"], ["29.16"]),
        ("398.00", "199.00", [], [], []),
        ("47.26", "19.90", ["5"], ["49.75"], ["2.49"]),
    ]
    assert texts(doc, "cac:InvoiceLine/cac:AllowanceCharge/cbc:AllowanceChargeReasonCode") == ["95"] * 3
    assert text(lines[3], "cbc:InvoicedQuantity") == "2.5"
    assert text(lines[3], "cbc:InvoicedQuantity/@unitCode") == "MTR"


def test_reverse_charge_and_intra_eu_goods_to_a_finnish_company(seller, issue_manual, peppol):
    # No Peppol id: addressed by its OVT code (0216), 0037 and the Finnish business id.
    finnish = CustomerFactory(
        name="Suomi Oy",
        country="FI",
        org_number="0112038-9",
        vat_number="FI01120389",
        billing_postal_code="00100",
        billing_city="Helsinki",
        language="en",
    )
    invoice = issue_manual(
        finnish,
        [
            line("Installation work", "10", "850.00", "reverse_charge", unit="HUR"),
            line("Heat pump", "2", "1000.00", "intra_eu"),
        ],
    )

    assert peppol.assert_valid(invoice.ubl) == []
    assert invoice.reverse_charge
    doc = parse(invoice.ubl)
    assert vat_breakdown(doc) == [
        ("AE", "0", "8500.00", "0.00", "VATEX-EU-AE", "Omvänd skattskyldighet"),
        ("K", "0", "2000.00", "0.00", "VATEX-EU-IC", "Unionsintern leverans av varor"),
    ]
    assert text(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "10500.00"
    buyer = doc.xpath("cac:AccountingCustomerParty/cac:Party", namespaces=NS)[0]
    assert (text(buyer, "cbc:EndpointID/@schemeID"), text(buyer, "cbc:EndpointID")) == ("0216", "003701120389")
    assert text(buyer, "cac:PartyTaxScheme/cbc:CompanyID") == "FI01120389"
    # Goods leaving for another member state: where they went and when (BR-IC-11, BR-IC-12).
    assert text(doc, "cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode") == "FI"
    assert text(doc, "cac:Delivery/cbc:ActualDeliveryDate") == DELIVERY_DATE.isoformat()


def test_a_euro_invoice_states_its_vat_in_kronor_too(seller, issue_manual, peppol):
    BankAccount.objects.create(company=seller, kind="iban", number="SE4550000000058398257466", bic="ESSESESS")
    ExchangeRate.objects.create(currency="EUR", base_currency="SEK", date=ISSUE_DATE, rate=Decimal("11.2345"))
    buyer = CustomerFactory(name="Euro Kund AB", org_number="556036-0793", vat_number="SE556036079301", currency="EUR")
    invoice = issue_manual(buyer, [line("Heat pump", "3", "120.50")])

    assert peppol.assert_valid(invoice.ubl) == []
    doc = parse(invoice.ubl)
    # 361.50 EUR at 25 % = 90.375 -> 90.38 EUR; in SEK 90.38 × 11.2345 = 1015.37411 -> 1015.37.
    assert (text(doc, "cbc:DocumentCurrencyCode"), text(doc, "cbc:TaxCurrencyCode")) == ("EUR", "SEK")
    assert vat_breakdown(doc) == [("S", "25", "361.50", "90.38", "", "")]
    assert text(doc, "cac:TaxTotal[cac:TaxSubtotal]/cbc:TaxAmount") == "90.38"
    assert text(doc, "cac:TaxTotal[not(cac:TaxSubtotal)]/cbc:TaxAmount") == "1015.37"
    assert text(doc, "cac:TaxTotal[not(cac:TaxSubtotal)]/cbc:TaxAmount/@currencyID") == "SEK"
    assert invoice.vat_amount_base == Decimal("1015.37")
    assert text(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "451.88"
    assert texts(doc, "//@currencyID").count("SEK") == 1
    # Bankgiro takes kronor only: a euro invoice is paid to the IBAN.
    assert text(doc, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == "SE4550000000058398257466"
    assert text(doc, "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID") == ("ESSESESS")


def test_a_full_credit_note_gives_back_everything_with_the_allowances(
    seller, swedish_buyer, issue_manual, credit, peppol
):
    standard = vat_category("standard")
    invoice = issue_manual(
        swedish_buyer,
        [line("Heat pump", "2", "1000.00", discount="10"), line("Manual", "1", "199.00", "reduced_culture")],
        allowances=[(True, "Freight", "95.00", standard)],
    )
    peppol.assert_valid(invoice.ubl)

    note = credit(invoice)

    assert peppol.assert_valid(note.ubl) == []
    doc = parse(note.ubl)
    assert etree.QName(doc).localname == "CreditNote"
    assert (text(doc, "cbc:ID"), text(doc, "cbc:CreditNoteTypeCode")) == (note.number, "381")
    assert text(doc, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == invoice.number
    assert text(doc, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate") == ISSUE_DATE.isoformat()
    assert text(doc, "cbc:Note") == "Returned goods"
    # 25 %: 1800.00 + 95.00 = 1895.00, VAT 473.75; 6 %: 199.00, VAT 11.94; total 2579.69, as invoiced.
    assert vat_breakdown(doc) == [
        ("S", "25", "1895.00", "473.75", "", ""),
        ("S", "6", "199.00", "11.94", "", ""),
    ]
    assert text(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == str(invoice.payable_amount) == "2579.69"
    assert text(doc, "cac:LegalMonetaryTotal/cbc:ChargeTotalAmount") == "95.00"
    assert texts(doc, "cac:CreditNoteLine/cbc:CreditedQuantity") == ["2", "1"]
    assert texts(doc, "cac:CreditNoteLine/cac:AllowanceCharge/cbc:Amount") == ["200.00"]
    # Nothing to pay in: no payment means, but terms saying how the credit is settled.
    assert doc.xpath("cac:PaymentMeans", namespaces=NS) == []
    assert invoice.number in text(doc, "cac:PaymentTerms/cbc:Note")


def test_a_partial_credit_note_credits_part_of_a_line(seller, swedish_buyer, issue_manual, credit, peppol):
    invoice = issue_manual(swedish_buyer, [line("Filter", "7", "33.33", discount="12.5"), line("Pump", "1", "500")])
    filters = invoice.lines.get(position=1)

    note = credit(invoice, lines=[(filters, Decimal("2"))], reason="Two filters broken")

    assert peppol.assert_valid(note.ubl) == []
    doc = parse(note.ubl)
    # 2 × 33.33 = 66.66, less 12.5 % = 58.3275 -> 58.33; VAT 14.5825 -> 14.58.
    assert texts(doc, "cac:CreditNoteLine/cbc:CreditedQuantity") == ["2"]
    assert texts(doc, "cac:CreditNoteLine/cbc:LineExtensionAmount") == ["58.33"]
    assert texts(doc, "cac:CreditNoteLine/cac:AllowanceCharge/cbc:Amount") == ["8.33"]
    assert vat_breakdown(doc) == [("S", "25", "58.33", "14.58", "", "")]
    assert text(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "72.91"
    assert text(doc, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == invoice.number


def test_whole_kronor_rounding_adds_a_rounding_amount(seller, swedish_buyer, issue_manual, peppol):
    settings = services.invoicing_settings_for(seller)
    settings.round_to_whole_units = True
    settings.save()
    BankAccount.objects.create(company=seller, kind="plusgiro", number="123456-6")

    invoice = issue_manual(swedish_buyer, [line("Filter", "1", "99.90")])

    assert peppol.assert_valid(invoice.ubl) == []
    doc = parse(invoice.ubl)
    # 99.90 + 24.98 VAT (24.975 rounded half up) = 124.88, paid as 125.
    assert text(doc, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount") == "124.88"
    assert text(doc, "cac:LegalMonetaryTotal/cbc:PayableRoundingAmount") == "0.12"
    assert text(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "125.00"
    # Bankgiro and plusgiro, each a credit transfer with the same reference.
    assert texts(doc, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == ["50501055", "1234566"]
    assert texts(doc, "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID") == [
        "SE:BANKGIRO",
        "SE:PLUSGIRO",
    ]
    assert texts(doc, "cac:PaymentMeans/cbc:PaymentID") == [invoice.payment_reference] * 2


def test_export_and_exempt_lines_say_why_there_is_no_vat(seller, issue_manual, peppol):
    norwegian = CustomerFactory(
        name="Fjord Kunde AS",
        country="NO",
        org_number="987654325",
        vat_number="NO987654325MVA",
        billing_postal_code="5003",
        billing_city="Bergen",
    )
    invoice = issue_manual(
        norwegian,
        [
            line("Heat pump", "1", "1000.00", "export"),
            line("Training", "1", "500.00", "exempt"),
            line("Filter", "2", "50.00"),
        ],
    )

    assert peppol.assert_valid(invoice.ubl) == []
    doc = parse(invoice.ubl)
    assert vat_breakdown(doc) == [
        ("S", "25", "100.00", "25.00", "", ""),
        ("E", "0", "500.00", "0.00", "", "Undantag från skatteplikt, 3 kap. mervärdesskattelagen"),
        ("G", "0", "1000.00", "0.00", "VATEX-EU-G", "Export"),
    ]
    assert text(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "1625.00"
    buyer = doc.xpath("cac:AccountingCustomerParty/cac:Party", namespaces=NS)[0]
    assert (text(buyer, "cbc:EndpointID/@schemeID"), text(buyer, "cbc:EndpointID")) == ("0192", "987654325")
    # Line categories carry no exemption text: that belongs to the breakdown.
    assert texts(doc, "cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:TaxExemptionReason") == []


def test_a_charge_without_lines_of_its_category_takes_the_reason_from_its_category(
    seller, swedish_buyer, issue_manual, peppol
):
    invoice = issue_manual(
        swedish_buyer,
        [line("Filter", "2", "50.00")],
        allowances=[(True, "Course fee", "300.00", vat_category("exempt"))],
    )

    assert peppol.assert_valid(invoice.ubl) == []
    assert vat_breakdown(parse(invoice.ubl)) == [
        ("S", "25", "100.00", "25.00", "", ""),
        ("E", "0", "300.00", "0.00", "", "Undantag från skatteplikt, 3 kap. mervärdesskattelagen"),
    ]


def test_the_ubl_reads_what_the_invoice_run_already_holds(issued, swedish_buyer, django_assert_num_queries):
    invoice = issued({"PUMP": 1, "BOOK": 1}, customer=swedish_buyer)
    invoice = Invoice.objects.prefetch_related("lines", "allowance_charges").get(pk=invoice.pk)

    with django_assert_num_queries(0):
        xml = invoice_ubl(invoice)

    assert xml == invoice.ubl  # and the same document as made at issue


@pytest.fixture
def norwegian_seller(db):
    """A Norwegian AS invoicing in kroner with KID references (no other company in these tests)."""
    company = Company.objects.create(
        legal_name="Nordlys Handel AS",
        org_number="923609016",
        vat_number="NO923609016MVA",
        street="Storgata 1",
        postal_code="0155",
        city="Oslo",
        country="NO",
        base_currency="NOK",
        payment_reference_scheme="kid",
        email="faktura@nordlys.example",
    )
    company.invoice_series = NumberSeries.objects.create(
        company=company, code="invoice", name="Fakturaer", next_number=5001
    )
    company.credit_note_series = NumberSeries.objects.create(
        company=company, code="credit-note", name="Kreditnotaer", prefix="KN", next_number=1
    )
    company.save()
    BankAccount.objects.create(company=company, kind="no_account", number="8601.11.17947")
    return company


def test_a_norwegian_seller_with_kid_and_four_vat_categories(norwegian_seller, issue_manual, credit, peppol):
    customer = CustomerFactory(
        name="Fjord Kunde AS",
        country="NO",
        org_number="987654325",
        vat_number="NO987654325MVA",
        billing_postal_code="5003",
        billing_city="Bergen",
        currency="NOK",
        language="nb",
        peppol_endpoint="0192:987654325",
    )
    invoice = issue_manual(
        customer,
        [
            line("Varmepumpe", "1", "12500.00", country="NO"),
            line("Kaffe", "10", "89.90", "reduced_food", country="NO"),
            line("Avis", "4", "35.00", "zero", country="NO"),
            line("Kurs", "1", "2000.00", "exempt", country="NO"),
        ],
    )

    assert references.kid_is_valid(invoice.payment_reference)
    assert peppol.assert_valid(invoice.ubl) == []
    doc = parse(invoice.ubl)
    assert set(texts(doc, "//@currencyID")) == {"NOK"}
    assert doc.xpath("cbc:TaxCurrencyCode", namespaces=NS) == []
    # 25 %: 3125.00; 15 % of 899.00: 134.85; zero-rated and exempt: none.
    assert vat_breakdown(doc) == [
        ("S", "25", "12500.00", "3125.00", "", ""),
        ("S", "15", "899.00", "134.85", "", ""),
        ("E", "0", "2000.00", "0.00", "", "Unntatt merverdiavgift"),
        ("Z", "0", "140.00", "0.00", "", ""),
    ]
    assert text(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "18798.85"
    assert text(doc, "cac:PaymentMeans/cbc:PaymentID") == invoice.payment_reference
    assert text(doc, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == "86011117947"
    seller = doc.xpath("cac:AccountingSupplierParty/cac:Party", namespaces=NS)[0]
    assert (text(seller, "cbc:EndpointID/@schemeID"), text(seller, "cbc:EndpointID")) == ("0192", "923609016")
    assert text(seller, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID") == "NO923609016MVA"
    assert text(seller, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='TAX']/cbc:CompanyID") == "Foretaksregisteret"
    assert text(seller, "cac:PartyLegalEntity/cbc:CompanyID/@schemeID") == "0192"

    note = credit(invoice)
    assert peppol.assert_valid(note.ubl) == []
    assert text(parse(note.ubl), "cac:LegalMonetaryTotal/cbc:PayableAmount") == "18798.85"


def test_a_buyer_that_cannot_be_addressed_on_peppol_gets_no_ubl(seller, issue_manual):
    consumer = CustomerFactory(name="Sven Svensson")  # no Peppol id, organisation or VAT number

    invoice = issue_manual(consumer, [line("Filter", "1", "99.90")])

    assert invoice.ubl == ""


@pytest.mark.parametrize(
    ("participant_id", "country", "org_number", "vat_number", "expected"),
    [
        ("0007:5560360793", "SE", "", "", ("0007", "5560360793")),
        ("iso6523-actorid-upis::0192:987654325", "NO", "", "", ("0192", "987654325")),
        ("0088:7300010000001", "SE", "556036-0793", "", ("0088", "7300010000001")),
        # 9955 (Swedish VAT number) left the Peppol code list: the org number inside it is used.
        ("9955:SE556036079301", "SE", "", "", ("0007", "5560360793")),
        ("", "SE", "556036-0793", "", ("0007", "5560360793")),
        ("", "SE", "", "SE556036079301", ("0007", "5560360793")),
        ("", "NO", "", "NO987654325MVA", ("0192", "987654325")),
        ("", "DK", "13585628", "", ("0184", "13585628")),
        ("", "FI", "0112038-9", "", ("0216", "003701120389")),
        ("", "FI", "", "FI01120389", ("0216", "003701120389")),
        # 0037 (the Finnish business id alone) left the list too: its OVT code is used.
        ("0037:01120389", "FI", "", "", ("0216", "003701120389")),
        ("", "DE", "HRB 1234", "DE136695976", ("9930", "DE136695976")),
        ("", "SE", "", "", None),
        ("", "US", "12-3456789", "", None),
    ],
)
def test_the_electronic_address_of_a_party(participant_id, country, org_number, vat_number, expected):
    assert party_endpoint(participant_id, country=country, org_number=org_number, vat_number=vat_number) == expected
