"""The invoice PDF: what the law asks to be on it, in the customer's language, rendered by a worker after issue."""

import datetime
import io
import os
import re
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from pypdf import PdfReader

from invoicing import services
from invoicing.documents import invoice_pdf_html, invoice_pdf_pages, invoice_pdf_render
from invoicing.models import ExchangeRate, Invoice
from o2c.common.exceptions import ApplicationError, ErrorCode
from tests.factories import CustomerFactory, vat_category

pytestmark = pytest.mark.django_db

ISSUE_DATE = datetime.date(2026, 3, 3)
PDF_DEBUG_DIR = os.environ.get("O2C_PDF_DEBUG_DIR", "")  # keep the rendered PDFs to look at


def pdf_pages(invoice: Invoice) -> list[str]:
    invoice.refresh_from_db()
    with invoice.pdf.open("rb") as handle:
        data = handle.read()
    assert data.startswith(b"%PDF")
    if PDF_DEBUG_DIR:
        with open(os.path.join(PDF_DEBUG_DIR, os.path.basename(invoice.pdf.name)), "wb") as out:
            out.write(data)
    # Thousands are grouped with no-break spaces in Swedish and Norwegian; compare with plain spaces.
    return [page.extract_text().replace("\xa0", " ") for page in PdfReader(io.BytesIO(data)).pages]


def pdf_text(invoice: Invoice) -> str:
    return "\n".join(pdf_pages(invoice))


def manual_invoice(customer, lines, finance, finance2, *, issue_date=ISSUE_DATE, charges=()):
    """Draft by hand, add document charges/allowances, approve by someone else and issue."""
    invoice = services.invoice_draft_manual(
        customer=customer, lines=lines, actor=finance, delivery_date=issue_date, buyer_reference="Anna Andersson"
    )
    for is_charge, reason, amount, category in charges:
        services.invoice_allowance_charge_add(
            invoice=invoice, is_charge=is_charge, reason=reason, amount=amount, vat_category=category, actor=finance
        )
    invoice.refresh_from_db()
    if invoice.status == "draft":
        services.invoice_approve(invoice=invoice, actor=finance2)
    return services.invoice_issue(invoice=invoice, actor=finance2, issue_date=issue_date)


def line(description, quantity, price, category=None, **kwargs):
    return services.ManualLine(
        description=description,
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        vat_category=category or vat_category(),
        unit=kwargs.pop("unit", "C62"),
        **kwargs,
    )


def test_the_pdf_states_number_reference_dates_vat_per_rate_and_totals(issued, seller):
    invoice = issued({"PUMP": 2, "BOOK": 3})

    rendered = invoice_pdf_render(invoice_id=invoice.pk)

    assert rendered.pdf.name.startswith(f"invoices/{rendered.pdf_rendered_at:%Y/%m}/invoice-{invoice.number}")
    text = pdf_text(invoice)
    assert "Faktura" in text and f"Fakturanummer {invoice.number}" in text
    assert f"OCR-nummer {invoice.payment_reference}" in text
    assert f"Förfallodatum {invoice.due_date:%Y-%m-%d}" in text
    assert f"Fakturadatum {invoice.issue_date:%Y-%m-%d}" in text
    assert "Godkänd för F-skatt" in text
    assert seller.org_number in text and seller.vat_number in text
    assert invoice.buyer["name"] in text
    # Lines: SKU, quantity, unit price, VAT rate and net.
    assert re.search(r"Heat pump\s*PUMP\s*2\s*st\s*1 000,00\s*25 %\s*2 000,00", text), text
    assert re.search(r"Manual\s*BOOK\s*3\s*st\s*199,00\s*6 %\s*597,00", text), text
    # VAT per rate with its taxable amount: 2000 × 25 % = 500.00, 597 × 6 % = 35.82.
    assert re.search(r"25 %\s*2 000,00\s*500,00", text), text
    assert re.search(r"6 %\s*597,00\s*35,82", text), text
    assert "Summa exkl. moms 2 597,00" in text
    assert "Summa moms 535,82" in text
    assert "Att betala 3 132,82 SEK" in text
    assert "Bankgiro 5050-1055" in text
    assert "Sida 1 av 1" in text


def test_rendering_twice_keeps_the_first_file_and_a_lost_file_is_rendered_again(issued):
    invoice = issued({"PUMP": 1})
    first = invoice_pdf_render(invoice_id=invoice.pk)

    again = invoice_pdf_render(invoice_id=invoice.pk)
    assert (again.pdf.name, again.pdf_rendered_at) == (first.pdf.name, first.pdf_rendered_at)

    first.pdf.storage.delete(first.pdf.name)  # lost from storage
    restored = invoice_pdf_render(invoice_id=invoice.pk)
    assert restored.pdf_rendered_at > first.pdf_rendered_at
    assert restored.pdf.storage.exists(restored.pdf.name)
    assert invoice.number in pdf_text(restored)


def test_a_draft_has_no_pdf(shipped, finance):
    draft = services.invoice_draft_from_shipments(shipment_ids=[shipped({"PUMP": 1}).pk], actor=finance)

    with pytest.raises(ApplicationError) as error:
        invoice_pdf_render(invoice_id=draft.pk)

    assert error.value.code == ErrorCode.INVALID_STATE
    draft.refresh_from_db()
    assert not draft.pdf


def test_issue_never_renders_the_worker_does_after_commit(
    shipped, finance, finance2, django_capture_on_commit_callbacks
):
    from o2c.celery import app

    draft = services.invoice_draft_from_shipments(shipment_ids=[shipped({"PUMP": 1}).pk], actor=finance)
    services.invoice_approve(invoice=draft, actor=finance2)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice = services.invoice_issue(invoice=draft, actor=finance2)

    invoice.refresh_from_db()
    assert not invoice.pdf and invoice.pdf_rendered_at is None  # issue only asked for it
    assert callbacks
    app.conf.task_always_eager = True  # what the worker would do with the message, here and now
    try:
        for callback in callbacks:
            callback()
    finally:
        app.conf.task_always_eager = False
    invoice.refresh_from_db()
    assert invoice.pdf and invoice.pdf_rendered_at is not None
    assert invoice.number in pdf_text(invoice)


def test_a_credit_note_pdf_names_the_credited_invoice_and_the_reason(issued, finance, finance2):
    invoice = issued({"PUMP": 1, "BOOK": 2})
    note = services.credit_note_create(invoice=invoice, reason="Fel kund fakturerad", actor=finance)
    services.invoice_approve(invoice=note, actor=finance2)
    note = services.invoice_issue(invoice=note, actor=finance2)

    invoice_pdf_render(invoice_id=note.pk)

    text = pdf_text(note)
    assert "Kreditfaktura" in text and f"Kreditfakturanummer {note.number}" in text
    assert f"Krediterar faktura {invoice.number}" in text
    assert "Fel kund fakturerad" in text
    assert "Summa kredit 1 671,88 SEK" in text  # 1000 + 250 VAT, 398 + 23.88 VAT
    assert "Att betala" not in text and "OCR-nummer" not in text


def test_a_sixty_line_invoice_has_page_numbers_and_carried_totals_that_add_up(seller, finance, finance2):
    customer = CustomerFactory(language="en", credit_limit=Decimal("1000000"))
    lines = [
        line(
            f"Item {n:02d}"
            + (" with a long description that wraps onto a second row in its column" if n % 7 == 0 else ""),
            "1",
            f"{100 + n}.50",
        )
        for n in range(1, 61)
    ]
    invoice = manual_invoice(customer, lines, finance, finance2)
    plan = invoice_pdf_pages(list(invoice.lines.all()))
    assert len(plan) >= 3

    invoice_pdf_render(invoice_id=invoice.pk)

    pages = pdf_pages(invoice)
    assert len(pages) in (len(plan), len(plan) + 1)  # the totals may need a page of their own
    nets = {f"Item {n:02d}": Decimal(f"{100 + n}.50") for n in range(1, 61)}
    running = Decimal(0)
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        if number > len(plan):
            continue
        brought = re.search(r"Brought forward\s*([\d,]+\.\d\d)", text)
        assert (brought is None) == (number == 1)
        if brought:
            assert Decimal(brought.group(1).replace(",", "")) == running
        on_page = re.findall(r"Item (\d\d)", text)
        assert on_page == [f"{line.position:02d}" for line in plan[number - 1].lines]  # no line spilled over
        running += sum(nets[f"Item {n}"] for n in on_page)
        carried = re.search(r"Carried forward\s*([\d,]+\.\d\d)", text)
        assert (carried is None) == (number == len(plan))
        if carried:
            assert Decimal(carried.group(1).replace(",", "")) == running
    assert running == invoice.net_amount == sum(nets.values())
    assert f"Total to pay {invoice.payable_amount:,.2f} SEK" in "\n".join(pages)


def test_a_norwegian_customer_reads_norwegian(seller, finance, finance2):
    customer = CustomerFactory(language="nb", country="NO", credit_limit=Decimal("1000000"))
    invoice = manual_invoice(customer, [line("Konsulenttimer", "3", "950.00", unit="HUR")], finance, finance2)

    invoice_pdf_render(invoice_id=invoice.pk)

    text = pdf_text(invoice)
    for label in ("Fakturadato", "Forfallsdato", "Fakturanummer", "Beskrivelse", "Å betale", "Side 1 av 1", "Sum MVA"):
        assert label in text, label
    assert "Förfallodatum" not in text and "Due date" not in text
    assert "Å betale 3 562,50 SEK" in text


def test_reverse_charge_foreign_currency_charges_and_early_payment_discount(seller, finance, finance2):
    ExchangeRate.objects.create(currency="EUR", base_currency="SEK", date=ISSUE_DATE, rate=Decimal("11.2345"))
    customer = CustomerFactory(
        language="en",
        currency="EUR",
        credit_limit=Decimal("1000000"),
        vat_number="DE123456789",
        payment_terms_days=30,
        early_payment_discount_percent=Decimal("2"),
        early_payment_discount_days=10,
    )
    reverse = vat_category("reverse_charge")
    invoice = manual_invoice(
        customer,
        [line("Installation work", "10", "80.00", reverse), line("Filter", "4", "25.00")],
        finance,
        finance2,
        charges=[(True, "Freight", Decimal("15.00"), vat_category()), (False, "Bonus", Decimal("10.00"), reverse)],
    )
    # Net: 800 (AE) + 100 (S); charge 15 (S), allowance 10 (AE): S taxable 115 → VAT 28.75; AE 790 → 0.
    assert (invoice.vat_amount, invoice.payable_amount) == (Decimal("28.75"), Decimal("933.75"))

    invoice_pdf_render(invoice_id=invoice.pk)

    text = " ".join(pdf_text(invoice).split())  # one line: narrow columns wrap
    assert "Omvänd skattskyldighet" in text
    assert re.search(r"0 % · Omvänd\s+skattskyldighet\s*790.00\s*0.00", text), text
    assert re.search(r"25 %\s*115.00\s*28.75", text), text
    assert "Charge: Freight" in text and "Discount: Bonus" in text
    assert "Total to pay 933.75 EUR" in text
    assert "VAT in SEK: 322.99 SEK at the exchange rate 11.2345 of 2026-03-03" in text  # 28.75 × 11.2345
    assert "2 % discount if paid within 10 days" in text
    assert "30 days net" in text
    assert "DE123456789" in text


def test_the_company_logo_and_footer_are_on_the_pdf(issued, seller):
    from PIL import Image

    settings = services.invoicing_settings_for(seller)
    image = io.BytesIO()
    Image.new("RGB", (120, 40), (20, 80, 160)).save(image, format="PNG")
    settings.logo.save("logo.png", ContentFile(image.getvalue()), save=False)
    settings.footer = "Dröjsmålsränta enligt räntelagen."
    settings.save()
    invoice = issued({"PUMP": 1})

    assert invoice_pdf_html(invoice).count("data:image/png;base64,") == 1
    rendered = invoice_pdf_render(invoice_id=invoice.pk)

    with rendered.pdf.open("rb") as handle:
        first_page = PdfReader(handle).pages[0]
        assert len(first_page.images) == 1
    assert "Dröjsmålsränta enligt räntelagen." in pdf_text(invoice)


def test_a_norwegian_seller_labels_the_reference_kid_and_has_no_f_skatt(seller, finance, finance2):
    from orders.models import BankAccount

    seller.country, seller.base_currency, seller.payment_reference_scheme = "NO", "NOK", "kid"
    seller.vat_number, seller.org_number = "NO923609016MVA", "923609016"
    seller.save()
    BankAccount.objects.create(company=seller, kind="no_account", number="1503.12.34567")
    customer = CustomerFactory(language="nb", country="NO", currency="NOK", credit_limit=Decimal("1000000"))
    invoice = manual_invoice(
        customer, [line("Service", "2", "500.00", vat_category("standard", "NO"))], finance, finance2
    )

    invoice_pdf_render(invoice_id=invoice.pk)

    text = pdf_text(invoice)
    assert f"KID-nummer {invoice.payment_reference}" in text and "OCR" not in text
    assert "Norsk kontonummer 1503.12.34567" in text
    assert "F-skatt" not in text
    assert "Å betale 1 250,00 NOK" in text
