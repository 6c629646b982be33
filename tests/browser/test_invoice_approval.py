"""Four eyes in the browser: finance1 drafted an invoice; finance2 finds it in the approval queue,
compares it with the order and shipment, approves, issues and sends it, and downloads its PDF.

No Celery worker runs here: where one would render the PDF or deliver the e-mail, the test does
what the worker does, and the page (polling with htmx) picks it up."""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fulfilment import services as fulfilment_services
from invoicing import services
from invoicing.documents import invoice_pdf_render
from invoicing.models import Invoice, InvoiceSend, InvoiceStatus, SendStatus
from o2c.common.roles import Role
from orders import services as order_services
from orders.migrations import _seed
from orders.models import BankAccount, NumberSeries
from orders.services import LineInput
from tests.browser.conftest import login
from tests.factories import CompanyFactory, CustomerFactory, ProductFactory, user_with_role
from tests.invoicing.conftest import ship_order

pytestmark = pytest.mark.browser


@pytest.fixture
def drafted(transactional_db):
    """An order for 2 pumps shipped and drafted as an invoice by finance1."""
    _seed.vat()  # the flush after an earlier transactional test removed the seeded VAT rows
    company = CompanyFactory()
    company.invoice_series = NumberSeries.objects.create(
        company=company, code="invoice", name="Invoices", next_number=5001
    )
    company.save()
    BankAccount.objects.create(company=company, kind="bankgiro", number="5050-1055")
    pump = ProductFactory(sku="PUMP", name="Heat pump", unit_price=Decimal("1000.00"))
    fulfilment_services.stock_receive(product=pump, quantity=Decimal(10), actor=None)
    customer = CustomerFactory(
        name="Fjällbacka Bygg AB", credit_limit=Decimal("1000000"), invoice_email="faktura@fjallbacka.example"
    )
    order = order_services.order_create(
        customer=customer, actor=None, lines=[LineInput(sku="PUMP", quantity=Decimal(2))]
    )
    shipment = ship_order(order, user_with_role(Role.WAREHOUSE), ship_date=timezone.localdate())
    finance1 = user_with_role(Role.FINANCE, "finance1")
    invoice = services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance1)
    assert invoice.status == InvoiceStatus.DRAFT
    return invoice


def test_finance2_approves_issues_sends_and_downloads_what_finance1_drafted(page, live_server, drafted, mailoutbox):
    invoice = drafted
    finance2 = user_with_role(Role.FINANCE, "finance2")
    login(page, live_server, finance2.username)

    page.get_by_test_id("main-menu").get_by_role("link", name="Invoices", exact=True).click()
    page.get_by_test_id("tab-approval").click()
    page.wait_for_url(f"{live_server.url}/invoices/approval/")
    rows = page.get_by_test_id("approval-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Fjällbacka Bygg AB")
    expect(rows.first).to_contain_text("finance1")
    rows.first.get_by_role("link").click()
    page.wait_for_url(f"{live_server.url}/invoices/{invoice.pk}/")

    # The comparison: ordered 2, shipped 2, invoiced 2 at the order's price; nothing marked.
    comparison = page.get_by_test_id("comparison-row")
    expect(comparison).to_have_count(1)
    expect(comparison.first).to_contain_text("PUMP")
    expect(page.get_by_test_id("comparison-same")).to_be_visible()
    expect(page.get_by_test_id("cmp-price")).to_have_text("1,000.00\xa0SEK")

    page.get_by_test_id("approve-form").get_by_role("textbox").fill("Matches order and shipment")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("invoice-status")).to_have_text("Approved")
    expect(page.get_by_test_id("approval")).to_contain_text("finance2")

    page.get_by_role("button", name="Issue").click()
    expect(page.get_by_test_id("invoice-status")).to_have_text("Issued")
    expect(page.get_by_test_id("invoice-number")).to_have_text("5001")
    invoice.refresh_from_db()
    expect(page.get_by_test_id("payment-reference")).to_have_text(invoice.payment_reference)

    # The PDF is being prepared; once the worker has rendered it, the polling box offers it.
    expect(page.get_by_test_id("pdf-status")).to_contain_text("being prepared")
    invoice_pdf_render(invoice_id=invoice.pk)
    expect(page.get_by_test_id("pdf-download")).to_be_visible(timeout=6000)

    # Send to the customer's invoice address; the worker delivers it; the send log shows it sent.
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("faktura@fjallbacka.example")
    send = InvoiceSend.objects.get(invoice=invoice)
    services.invoice_send_deliver(send_id=send.pk)
    page.reload()
    expect(page.get_by_test_id("send-status")).to_have_text("Sent")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Sent")
    assert InvoiceSend.objects.get(pk=send.pk).status == SendStatus.SENT
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["faktura@fjallbacka.example"]
    assert mailoutbox[0].attachments[0][0] == "5001.pdf"

    with page.expect_download() as download_info:
        page.get_by_test_id("pdf-download").click()
    download = download_info.value
    with open(download.path(), "rb") as handle:
        assert handle.read().startswith(b"%PDF")
    assert download.suggested_filename == "invoice-5001.pdf"
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.SENT
