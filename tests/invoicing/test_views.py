"""Finance's invoice pages: the list and queue, the invoice page and what can be done on it."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from invoicing import services
from invoicing.documents import invoice_pdf_render
from invoicing.models import Invoice, InvoiceKind, InvoiceSend, InvoiceStatus
from invoicing.selectors import invoice_comparison
from o2c.common.models import AuditEntry
from tests.factories import CustomerFactory, user_with_role, vat_category

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def draft(shipped, finance):
    """A draft for 2 pumps and 3 books shipped, made by finance1."""
    shipment = shipped({"PUMP": 2, "BOOK": 3})
    return services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance)


@pytest.fixture
def finance_client(client, finance):
    client.force_login(finance)
    return client


@pytest.fixture
def approver_client(client, finance2):
    client.force_login(finance2)
    return client


# The list and the approval queue -----------------------------------------------------------------


def test_the_list_filters_by_status_and_search_and_totals_per_currency(finance_client, draft, issued):
    invoice = issued({"PUMP": 1})
    response = finance_client.get("/invoices/")
    assert response.status_code == 200
    assert {row.pk for row in response.context["rows"]} == {draft.pk, invoice.pk}
    assert response.context["currency_totals"] == [
        {"currency": "SEK", "count": 2, "payable": draft.payable_amount + invoice.payable_amount}
    ]
    page = response.content.decode()
    assert "1\xa0250.00\xa0SEK" in page or "1,250.00\xa0SEK" in page

    issued_only = finance_client.get("/invoices/", {"status": "issued"})
    assert [row.pk for row in issued_only.context["rows"]] == [invoice.pk]
    by_reference = finance_client.get("/invoices/", {"q": invoice.payment_reference})
    assert [row.pk for row in by_reference.context["rows"]] == [invoice.pk]
    by_number = finance_client.get("/invoices/", {"q": invoice.number})
    assert invoice.pk in [row.pk for row in by_number.context["rows"]]
    by_customer = finance_client.get("/invoices/", {"customer": draft.customer.number})
    assert [row.pk for row in by_customer.context["rows"]] == [draft.pk]
    by_date = finance_client.get("/invoices/", {"issued_from": invoice.issue_date.isoformat()})
    assert [row.pk for row in by_date.context["rows"]] == [invoice.pk]


def test_the_list_needs_a_fixed_number_of_queries(finance_client, seller, finance, django_assert_max_num_queries):
    customer = CustomerFactory()
    line = services.ManualLine(
        description="Fee", quantity=Decimal(1), unit_price=Decimal(10), vat_category=vat_category()
    )
    for _ in range(30):
        services.invoice_draft_manual(customer=customer, lines=[line], actor=finance)
    finance_client.get("/invoices/")  # warm the session and role caches
    with django_assert_max_num_queries(8):
        response = finance_client.get("/invoices/")
    assert len(response.context["rows"]) == 25


def test_the_approval_queue_shows_others_drafts_not_yet_approved_by_me(client, draft, finance, finance2, seller):
    client.force_login(finance2)
    assert [row.pk for row in client.get("/invoices/approval/").context["rows"]] == [draft.pk]
    client.force_login(finance)  # made it: not in their queue
    assert list(client.get("/invoices/approval/").context["rows"]) == []

    settings = services.invoicing_settings_for(seller)
    settings.second_approval_from = Decimal("1000")
    settings.save()
    two = services.invoice_draft_manual(
        customer=draft.customer,
        lines=[services.ManualLine("Big job", Decimal(1), Decimal(5000), vat_category())],
        actor=finance,
    )
    assert two.approvals_required == 2
    services.invoice_approve(invoice=two, actor=finance2)
    client.force_login(finance2)
    rows = list(client.get("/invoices/approval/").context["rows"])
    assert [row.pk for row in rows] == [draft.pk]  # approved by finance2 already
    client.force_login(user_with_role("finance", "finance3"))
    rows = {row.pk: row for row in client.get("/invoices/approval/").context["rows"]}
    assert set(rows) == {draft.pk, two.pk} and rows[two.pk].approvals_given == 1


def test_the_approval_queue_needs_a_fixed_number_of_queries(
    client, seller, finance, finance2, django_assert_max_num_queries
):
    customer = CustomerFactory()
    line = services.ManualLine(
        description="Fee", quantity=Decimal(1), unit_price=Decimal(10), vat_category=vat_category()
    )
    for _ in range(20):
        services.invoice_draft_manual(customer=customer, lines=[line], actor=finance)
    client.force_login(finance2)
    client.get("/invoices/approval/")
    with django_assert_max_num_queries(7):
        response = client.get("/invoices/approval/")
    assert len(response.context["rows"]) == 20


# The invoice page and its actions ------------------------------------------------------------------


def test_the_draft_page_shows_lines_vat_comparison_and_the_approve_form(approver_client, draft):
    response = approver_client.get(f"/invoices/{draft.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="approve-form"' in page
    assert page.count('data-testid="invoice-line"') == 2
    assert page.count('data-testid="vat-row"') == 2  # 25 % and 6 %
    assert page.count('data-testid="comparison-row"') == 2
    assert 'data-testid="comparison-same"' in page
    assert "≠" not in page.split('data-testid="comparison-table"')[1].split("</table>")[0]


def test_the_maker_cannot_approve_their_own_draft(finance_client, draft):
    page = finance_client.get(f"/invoices/{draft.pk}/").content.decode()
    assert 'data-testid="approve-form"' not in page and 'data-testid="own-draft"' in page
    response = finance_client.post(f"/invoices/{draft.pk}/approve/", {"note": "me"})
    assert response.status_code == 302
    assert any("another finance user" in m for m in messages_of(response))
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT


def test_approve_then_issue(approver_client, draft, finance2):
    response = approver_client.post(f"/invoices/{draft.pk}/approve/", {"note": "Checked against the order"})
    assert response.status_code == 302 and response["Location"] == f"/invoices/{draft.pk}/"
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.APPROVED
    assert draft.approvals.get().note == "Checked against the order"

    response = approver_client.post(f"/invoices/{draft.pk}/issue/")
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.ISSUED and draft.number == "1001"
    assert any("1001" in m for m in messages_of(response))
    page = approver_client.get(f"/invoices/{draft.pk}/").content.decode()
    assert draft.payment_reference in page
    assert 'data-testid="send-form"' in page and 'data-testid="credit-note-form"' in page
    assert "being prepared" in page  # no worker has rendered the PDF yet
    assert 'data-testid="comparison"' not in page  # only drafts are compared


def test_issuing_a_draft_is_refused_with_a_message(approver_client, draft):
    response = approver_client.post(f"/invoices/{draft.pk}/issue/")
    assert any("only an approved invoice can be issued" in m for m in messages_of(response))
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT


def test_reopen_and_discard_need_a_reason(finance_client, approver_client, draft):
    services.invoice_approve(invoice=draft, actor=approver_client.get("/").wsgi_request.user)
    response = finance_client.post(f"/invoices/{draft.pk}/reopen/", {"reason": ""})
    assert messages_of(response)
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.APPROVED
    finance_client.post(f"/invoices/{draft.pk}/reopen/", {"reason": "Wrong price"})
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT

    finance_client.post(f"/invoices/{draft.pk}/discard/", {"reason": "Billed elsewhere"})
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DISCARDED and "Billed elsewhere" in draft.note


def test_editing_a_draft_line_recalculates_and_shows_in_the_comparison(finance_client, draft):
    pump = draft.lines.get(sku="PUMP")
    response = finance_client.post(
        f"/invoices/lines/{pump.pk}/", {"quantity": "1", "unit_price": "900.00", "discount_percent": "0"}
    )
    assert response.status_code == 302 and messages_of(response) == ["Line changed."]
    draft.refresh_from_db()
    assert draft.net_amount == Decimal("900.00") + Decimal("597.00")
    page = finance_client.get(f"/invoices/{draft.pk}/").content.decode()
    table = page.split('data-testid="comparison-table"')[1].split("</table>")[0]
    assert table.count('class="differs"') == 1 and table.count("≠") == 2  # quantity and price of the pump


def test_a_bad_line_change_is_refused_with_a_message(finance_client, draft):
    pump = draft.lines.get(sku="PUMP")
    response = finance_client.post(
        f"/invoices/lines/{pump.pk}/", {"quantity": "0", "unit_price": "1000", "discount_percent": "0"}
    )
    assert any("more than 0" in m for m in messages_of(response))
    pump.refresh_from_db()
    assert pump.quantity == Decimal(2)


def test_add_and_remove_lines_and_add_a_charge(finance_client, draft):
    category = vat_category()
    finance_client.post(
        f"/invoices/{draft.pk}/lines/",
        {"description": "Travel", "quantity": "2", "unit_price": "150", "vat_category": category.pk},
    )
    assert draft.lines.filter(description="Travel", net_amount=Decimal("300.00")).exists()
    finance_client.post(
        f"/invoices/{draft.pk}/allowances-charges/",
        {"is_charge": "1", "reason": "Freight", "amount": "99", "vat_category": category.pk},
    )
    draft.refresh_from_db()
    assert draft.charge_amount == Decimal("99.00")
    book = draft.lines.get(sku="BOOK")
    finance_client.post(f"/invoices/lines/{book.pk}/remove/")
    assert not draft.lines.filter(sku="BOOK").exists()
    assert AuditEntry.objects.filter(object_id=str(draft.pk), changes__has_key="lines").count() == 2


def test_lines_of_an_issued_invoice_cannot_be_changed(finance_client, issued):
    invoice = issued({"PUMP": 1})
    line = invoice.lines.get()
    response = finance_client.post(f"/invoices/lines/{line.pk}/remove/")
    assert any("only drafts can be changed" in m for m in messages_of(response))
    assert invoice.lines.count() == 1


def test_send_queues_a_sending_and_the_log_shows_it(
    approver_client, issued, django_capture_on_commit_callbacks, mailoutbox
):
    invoice = issued({"PUMP": 1})
    with django_capture_on_commit_callbacks(execute=False):
        response = approver_client.post(f"/invoices/{invoice.pk}/send/", {"recipient": "ap@kund.example"})
    assert any("ap@kund.example" in m for m in messages_of(response))
    send = InvoiceSend.objects.get(invoice=invoice)
    services.invoice_send_deliver(send_id=send.pk)  # what the worker does
    page = approver_client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert 'data-testid="send-row"' in page and "ap@kund.example" in page
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ap@kund.example"]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.SENT


def test_send_to_a_bad_address_is_refused(approver_client, issued):
    invoice = issued({"PUMP": 1})
    response = approver_client.post(f"/invoices/{invoice.pk}/send/", {"recipient": "nope"})
    assert messages_of(response) and not InvoiceSend.objects.exists()


def test_the_pdf_is_prepared_by_a_worker_then_downloaded(finance_client, issued):
    invoice = issued({"PUMP": 1})
    waiting = finance_client.get(f"/invoices/{invoice.pk}/pdf/")
    assert waiting.status_code == 202 and "being prepared" in waiting.content.decode()
    status = finance_client.get(f"/invoices/{invoice.pk}/pdf/status/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in status
    invoice_pdf_render(invoice_id=invoice.pk)  # what the worker does
    status = finance_client.get(f"/invoices/{invoice.pk}/pdf/status/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in status and 'data-testid="pdf-download"' in status
    response = finance_client.get(f"/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert f"invoice-{invoice.number}.pdf" in response["Content-Disposition"]


def test_a_draft_has_no_pdf_or_ubl(finance_client, draft):
    assert finance_client.get(f"/invoices/{draft.pk}/pdf/").status_code == 404
    assert finance_client.get(f"/invoices/{draft.pk}/ubl/").status_code == 404


def test_the_ubl_downloads_as_xml_named_by_the_number(finance_client, issued):
    customer = CustomerFactory(org_number="556677-8899", credit_limit=Decimal("1000000"))
    invoice = issued({"PUMP": 1}, customer=customer)
    response = finance_client.get(f"/invoices/{invoice.pk}/ubl/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.xml"'
    assert response.content.decode().startswith("<?xml") and invoice.number in response.content.decode()


# Credit notes ------------------------------------------------------------------------------------


def test_a_partial_credit_note_from_the_invoice_page(finance_client, issued):
    invoice = issued({"PUMP": 2, "BOOK": 1})
    pump = invoice.lines.get(sku="PUMP")
    page = finance_client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert page.count('data-testid="credit-line"') == 2
    response = finance_client.post(
        f"/invoices/{invoice.pk}/credit-note/", {f"line_{pump.pk}": "1", "reason": "One pump returned"}
    )
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert response["Location"] == f"/invoices/{note.pk}/"
    assert list(note.lines.values_list("credited_line_id", "quantity")) == [(pump.pk, Decimal("1.000"))]
    assert note.reason == "One pump returned" and note.status == InvoiceStatus.DRAFT

    # Only one pump is left to credit; asking for two is refused.
    response = finance_client.post(f"/invoices/{invoice.pk}/credit-note/", {f"line_{pump.pk}": "2", "reason": "x"})
    assert messages_of(response)
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1
    page = finance_client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert 'data-testid="credit-notes"' in page


def test_credit_in_full(finance_client, issued):
    invoice = issued({"PUMP": 1, "BOOK": 2})
    finance_client.post(f"/invoices/{invoice.pk}/credit-note/", {"full": "on", "reason": "Wrong customer"})
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.payable_amount == invoice.payable_amount and note.credited_invoice_id == invoice.pk
    page = finance_client.get(f"/invoices/{note.pk}/").content.decode()
    assert 'data-testid="credited-invoice"' in page and invoice.number in page


# The manual invoice ------------------------------------------------------------------------------


def manual_post(customer, rows):
    data = {
        "customer": customer.pk,
        "delivery_date": "2026-03-02",
        "buyer_reference": "Anna",
        "note": "",
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": "0",
    }
    standard = vat_category().pk
    for index, row in enumerate(rows):
        for name, value in {"vat_category": standard, **row}.items():
            data[f"lines-{index}-{name}"] = value
    return data


def test_a_manual_invoice_skips_empty_rows(finance_client, seller):
    customer = CustomerFactory()
    page = finance_client.get("/invoices/new/").content.decode()
    assert page.count('data-testid="manual-line"') == 5
    data = manual_post(customer, [{"description": "Consulting", "quantity": "3", "unit_price": "1200"}, {}, {}])
    response = finance_client.post("/invoices/new/", data)
    invoice = Invoice.objects.get()
    assert response["Location"] == f"/invoices/{invoice.pk}/"
    assert (invoice.customer, invoice.buyer_reference, invoice.net_amount) == (customer, "Anna", Decimal("3600.00"))
    assert invoice.delivery_date == datetime.date(2026, 3, 2)


def test_a_manual_invoice_without_lines_is_refused(finance_client, seller):
    response = finance_client.post("/invoices/new/", manual_post(CustomerFactory(), [{}, {}]))
    assert response.status_code == 400
    assert "at least one line" in response.content.decode()
    assert not Invoice.objects.exists()


# The comparison ----------------------------------------------------------------------------------


def test_the_comparison_marks_a_price_and_a_quantity_difference(draft, finance):
    rows = invoice_comparison(draft)
    assert [(r.sku, r.ordered_quantity, r.shipped_quantity, r.invoiced_quantity, r.differs) for r in rows] == [
        ("PUMP", Decimal("2.000"), Decimal("2.000"), Decimal("2.000"), False),
        ("BOOK", Decimal("3.000"), Decimal("3.000"), Decimal("3.000"), False),
    ]
    pump, book = draft.lines.get(sku="PUMP"), draft.lines.get(sku="BOOK")
    services.invoice_line_update(line=pump, actor=finance, unit_price=Decimal("950.00"))
    services.invoice_line_update(line=book, actor=finance, quantity=Decimal("2"))
    rows = {row.sku: row for row in invoice_comparison(draft)}
    assert rows["PUMP"].price_differs and not rows["PUMP"].quantity_differs
    assert (rows["PUMP"].order_unit_price, rows["PUMP"].invoice_unit_price) == (Decimal("1000.00"), Decimal("950.00"))
    assert rows["BOOK"].quantity_differs and not rows["BOOK"].price_differs
    assert (rows["BOOK"].shipped_quantity, rows["BOOK"].invoiced_quantity) == (Decimal("3.000"), Decimal("2.000"))


def test_the_comparison_shows_shipped_lines_missing_from_the_invoice_and_hand_made_lines(draft, finance):
    services.invoice_line_remove(line=draft.lines.get(sku="BOOK"), actor=finance)
    services.invoice_line_add(
        invoice=draft,
        line=services.ManualLine("Handling", Decimal(1), Decimal(50), vat_category()),
        actor=finance,
    )
    rows = invoice_comparison(draft)
    assert [(r.sku, r.only_on, r.invoiced_quantity, r.differs) for r in rows] == [
        ("PUMP", "", Decimal("2.000"), False),
        ("", "invoice", Decimal("1.000"), True),
        ("BOOK", "shipment", Decimal("0"), True),
    ]


def test_the_invoice_page_speaks_swedish(approver_client, draft):
    approver_client.post("/i18n/setlang/", {"language": "sv", "next": "/"})
    page = approver_client.get(f"/invoices/{draft.pk}/").content.decode()
    assert "Attestera" in page and "Jämfört med ordern och leveranserna" in page
    approver_client.post("/i18n/setlang/", {"language": "nb", "next": "/"})
    page = approver_client.get(f"/invoices/{draft.pk}/").content.decode()
    assert "Attester" in page and "Sammenlignet med ordren og forsendelsene" in page


def test_the_to_invoice_page_lists_what_is_unbilled_and_drafts_one_invoice(client, shipped, finance):
    from invoicing.models import Invoice

    first, second = shipped({"PUMP": 1}), shipped({"BOOK": 2})
    client.force_login(finance)

    page = client.get("/invoices/to-invoice/").content.decode()
    assert page.count('data-testid="to-invoice-row"') == 2 and str(first.order.number) in page

    response = client.post("/invoices/to-invoice/", {"group": f"shipments:{first.pk}"})
    invoice = Invoice.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/invoices/{invoice.pk}/"
    assert invoice.created_by == finance and invoice.order_id == first.order_id
    page = client.get("/invoices/to-invoice/").content.decode()
    assert page.count('data-testid="to-invoice-row"') == 1 and str(second.order.number) in page
    # Drafting the same shipment again (a second tab, say) is refused with the reason.
    response = client.post("/invoices/to-invoice/", {"group": f"shipments:{first.pk}"}, follow=True)
    assert "already billed" in response.content.decode() and Invoice.objects.count() == 1
