"""Invoices and credit notes over REST: lists, detail, PDF and UBL downloads, credit notes with Idempotency-Key."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoicing import services
from invoicing.documents import invoice_pdf_render
from invoicing.models import ExchangeRate, Invoice, InvoiceKind, InvoiceStatus
from o2c.common.models import AuditEntry, IdempotencyKey
from o2c.common.roles import CAPABILITIES, Role
from tests.factories import CustomerFactory, vat_category

pytestmark = pytest.mark.django_db

URL = "/api/v1/invoices/"
CREDIT_URL = "/api/v1/credit-notes/"
ISSUE_DATE = datetime.date(2026, 3, 3)


@pytest.fixture(autouse=True)
def no_queued_renders_remembered():
    cache.clear()  # the "render already queued" marks of earlier tests
    yield
    cache.clear()


@pytest.fixture
def invoiced(shipped, finance, finance2):
    """invoiced({"PUMP": 2}, issue_date=..., customer=...) -> an issued invoice for a new shipped order."""

    def make(quantities: dict, *, issue_date=ISSUE_DATE, customer=None) -> Invoice:
        shipment = shipped(quantities, customer=customer)
        invoice = services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance)
        if invoice.status == InvoiceStatus.DRAFT:
            services.invoice_approve(invoice=invoice, actor=finance2)
        return services.invoice_issue(invoice=invoice, actor=finance2, issue_date=issue_date)

    return make


@pytest.fixture
def draft(shipped, finance):
    shipment = shipped({"PUMP": 1})
    return services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance)


@pytest.fixture
def reader(api_client_for):
    return api_client_for("sales")


@pytest.fixture
def accountant(api_client_for):
    return api_client_for("finance")


def credit_notes() -> list[Invoice]:
    return list(Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).order_by("id"))


def error_fields(response) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    return body["fields"]


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_each_invoice_with_money_as_strings(reader, invoiced):
    invoice = invoiced({"PUMP": 2, "BOOK": 3})
    response = reader.get(URL)
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 1
    assert page["results"] == [
        {
            "id": invoice.pk,
            "kind": "invoice",
            "number": "1001",
            "status": "issued",
            "customer": invoice.customer.number,
            "customer_name": invoice.customer.name,
            "order": invoice.order.number,
            "order_id": invoice.order_id,
            "credited_invoice": None,
            "credited_invoice_id": None,
            "currency": "SEK",
            "issue_date": "2026-03-03",
            "delivery_date": "2026-03-02",
            "due_date": str(ISSUE_DATE + datetime.timedelta(days=invoice.payment_terms_days)),
            # 2 × 1000 at 25 % and 3 × 199 at 6 %: VAT 500.00 + 35.82.
            "net_amount": "2597.00",
            "vat_amount": "535.82",
            "rounding_amount": "0.00",
            "payable_amount": "3132.82",
            "payment_reference": invoice.payment_reference,
        }
    ]
    assert invoice.payment_reference


def test_filters(reader, invoiced, draft, finance, shipped):
    early = invoiced({"PUMP": 1}, issue_date=datetime.date(2026, 3, 1))
    late = invoiced({"BOOK": 1}, issue_date=datetime.date(2026, 4, 1))
    credit = services.credit_note_create(invoice=late, reason="Damaged", actor=finance)
    # A collective invoice bills two orders of one customer: it has no single order.
    customer = CustomerFactory(credit_limit=Decimal("10000000"))
    first, second = shipped({"PUMP": 1}, customer=customer), shipped({"BOOK": 2}, customer=customer)
    collective = services.invoice_draft_from_shipments(shipment_ids=[first.pk, second.pk], actor=finance)
    assert collective.order_id is None

    def ids(**params) -> list[int]:
        response = reader.get(URL, params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids() == [collective.pk, credit.pk, late.pk, early.pk, draft.pk]
    assert ids(customer=early.customer.number) == [early.pk]
    assert ids(customer=customer.number) == [collective.pk]
    assert ids(status="issued") == [late.pk, early.pk]
    assert credit.status == InvoiceStatus.DRAFT  # a credit note is approved like an invoice
    assert ids(status=["issued", "approved"]) == [late.pk, early.pk]
    assert ids(status=["issued", "draft"]) == [collective.pk, credit.pk, late.pk, early.pk, draft.pk]
    assert ids(kind="credit_note") == [credit.pk]
    assert ids(kind="invoice", status="draft") == [collective.pk, draft.pk]
    assert ids(issued_from="2026-03-02") == [late.pk]
    assert ids(issued_to="2026-03-31") == [early.pk]
    assert ids(issued_from="2026-03-01", issued_to="2026-03-01") == [early.pk]
    assert ids(due_from=str(late.due_date)) == [late.pk]
    assert ids(due_to=str(early.due_date)) == [early.pk]
    assert ids(order=early.order.number) == [early.pk]
    assert ids(order=second.order.number) == [collective.pk]  # found through its lines
    assert ids(order=late.order.number) == [credit.pk, late.pk]  # the credit note bills the same order
    assert ids(q=early.number) == [early.pk]
    assert ids(search=late.payment_reference) == [late.pk]
    assert ids(q=customer.name) == [collective.pk]
    assert ids(ordering="id") == [draft.pk, early.pk, late.pk, credit.pk, collective.pk]
    credit_item = reader.get(URL, {"kind": "credit_note"}).json()["results"][0]
    assert (credit_item["credited_invoice"], credit_item["credited_invoice_id"]) == (late.number, late.pk)


def test_bad_filter_values_are_400_with_the_parameter(reader, invoiced):
    invoiced({"PUMP": 1})
    response = reader.get(URL, {"status": "lost", "issued_from": "yesterday"})
    fields = error_fields(response)
    assert set(fields) == {"status", "issued_from"}


def test_pages(reader, invoiced):
    invoices = [invoiced({"PUMP": 1}) for _ in range(3)]
    first = reader.get(URL, {"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["previous"] is None
    assert first["next"].endswith("page=2&page_size=2")
    second = reader.get(first["next"]).json()
    assert [item["id"] for item in first["results"] + second["results"]] == [i.pk for i in reversed(invoices)]
    assert second["next"] is None
    assert reader.get(URL, {"page": 9}).status_code == 404


def test_the_list_costs_the_same_queries_for_many_invoices(reader, invoiced, finance, django_assert_max_num_queries):
    invoice = invoiced({"PUMP": 2, "BOOK": 1})
    services.credit_note_create(invoice=invoice, reason="Damaged", actor=finance)
    with CaptureQueriesContext(connection) as few:
        assert reader.get(URL).json()["count"] == 2
    for _ in range(5):
        invoice = invoiced({"PUMP": 1, "BOOK": 1})
        services.credit_note_create(invoice=invoice, reason="Damaged", actor=finance)
    with CaptureQueriesContext(connection) as many:
        assert reader.get(URL).json()["count"] == 12
    assert len(many) == len(few)
    # Token, roles, count, page: nothing per invoice.
    with django_assert_max_num_queries(5):
        reader.get(URL, {"customer": invoice.customer.number, "status": "issued", "order": invoice.order.number})


# --- the detail ----------------------------------------------------------------------------------


def test_the_detail_has_lines_vat_per_rate_approvals_documents_and_credit_notes(reader, invoiced, finance):
    invoice = invoiced({"PUMP": 2, "BOOK": 3})
    credit = services.credit_note_create(invoice=invoice, reason="Damaged", actor=finance)
    response = reader.get(f"{URL}{invoice.pk}/")
    assert response.status_code == 200
    body = response.json()
    list_item = reader.get(URL, {"kind": "invoice"}).json()["results"][0]
    assert {key: body[key] for key in list_item} == list_item
    assert body["lines"] == [
        {
            "position": 1,
            "sku": "PUMP",
            "description": "Heat pump",
            "quantity": "2.000",
            "unit": invoice.lines.get(position=1).unit,
            "unit_price": "1000.00",
            "discount_percent": "0.00",
            "vat_category": "standard",
            "vat_code": "S",
            "vat_rate": "25.00",
            "vat_exemption_reason": "",
            "net_amount": "2000.00",
            "delivery_date": "2026-03-02",
            "credited_line": None,
        },
        {
            "position": 2,
            "sku": "BOOK",
            "description": "Manual",
            "quantity": "3.000",
            "unit": invoice.lines.get(position=2).unit,
            "unit_price": "199.00",
            "discount_percent": "0.00",
            "vat_category": "reduced_culture",
            "vat_code": "S",
            "vat_rate": "6.00",
            "vat_exemption_reason": "",
            "net_amount": "597.00",
            "delivery_date": "2026-03-02",
            "credited_line": None,
        },
    ]
    assert body["vat_breakdown"] == [
        {"category_code": "S", "rate": "25.00", "taxable_amount": "2000.00", "vat_amount": "500.00"},
        {"category_code": "S", "rate": "6.00", "taxable_amount": "597.00", "vat_amount": "35.82"},
    ]
    assert (body["gross_amount"], body["allowance_amount"], body["charge_amount"]) == ("3132.82", "0.00", "0.00")
    assert body["allowance_charges"] == []
    assert body["base_currency"] is None  # in the company's own currency
    assert body["approvals"]["count"] == 1 and body["approvals"]["required"] == 1
    assert [a["approver"] for a in body["approvals"]["given"]] == ["finance2"]
    assert body["documents"] == {
        "pdf": f"http://testserver/api/v1/invoices/{invoice.pk}/pdf/",
        "ubl": f"http://testserver/api/v1/invoices/{invoice.pk}/ubl/",
    }
    assert body["credit_notes"] == [
        {
            "id": credit.pk,
            "number": "",
            "status": credit.status,
            "issue_date": None,
            "payable_amount": "3132.82",
            "reason": "Damaged",
        }
    ]
    assert body["seller"]["name"] == invoice.company.legal_name and body["buyer"]["number"] == invoice.customer.number


def test_a_foreign_currency_invoice_states_its_vat_in_the_base_currency(reader, seller, finance, finance2):
    ExchangeRate.objects.create(currency="EUR", base_currency="SEK", date=ISSUE_DATE, rate=Decimal("11.2345"))
    customer = CustomerFactory(currency="EUR", vat_number="DE123456789", credit_limit=Decimal("1000000"))
    invoice = services.invoice_draft_manual(
        customer=customer,
        actor=finance,
        delivery_date=ISSUE_DATE,
        lines=[
            services.ManualLine(
                description="Filter", quantity=Decimal(4), unit_price=Decimal("25.00"), vat_category=vat_category()
            )
        ],
    )
    services.invoice_allowance_charge_add(
        invoice=invoice,
        is_charge=True,
        reason="Freight",
        amount=Decimal("15.00"),
        vat_category=vat_category(),
        actor=finance,
    )
    invoice.refresh_from_db()
    if invoice.status == InvoiceStatus.DRAFT:
        services.invoice_approve(invoice=invoice, actor=finance2)
    services.invoice_issue(invoice=invoice, actor=finance2, issue_date=ISSUE_DATE)
    body = reader.get(f"{URL}{invoice.pk}/").json()
    assert body["currency"] == "EUR"
    # 100.00 + freight 15.00 at 25 % → VAT 28.75 EUR = 322.99 SEK at 11.2345.
    assert body["vat_breakdown"] == [
        {"category_code": "S", "rate": "25.00", "taxable_amount": "115.00", "vat_amount": "28.75"}
    ]
    assert body["allowance_charges"] == [
        {
            "is_charge": True,
            "reason": "Freight",
            "amount": "15.00",
            "vat_category": "standard",
            "vat_code": "S",
            "vat_rate": "25.00",
        }
    ]
    assert (body["charge_amount"], body["vat_amount"], body["payable_amount"]) == ("15.00", "28.75", "143.75")
    assert body["base_currency"] == {
        "currency": "SEK",
        "exchange_rate": "11.234500",
        "exchange_rate_date": "2026-03-03",
        "vat_amount": "322.99",
    }


def test_a_draft_has_no_number_and_no_documents(reader, draft):
    body = reader.get(f"{URL}{draft.pk}/").json()
    assert (body["status"], body["number"], body["issue_date"]) == ("draft", "", None)
    assert body["documents"] == {"pdf": None, "ubl": None}
    assert body["approvals"] == {"count": 0, "required": 1, "given": []}


def test_the_detail_costs_the_same_queries_for_many_lines(reader, invoiced, django_assert_max_num_queries):
    small = invoiced({"PUMP": 1})
    large = invoiced({"PUMP": 1, "BOOK": 2, "INSTALL": 1})
    with CaptureQueriesContext(connection) as one_line:
        reader.get(f"{URL}{small.pk}/")
    with CaptureQueriesContext(connection) as more_lines:
        assert len(reader.get(f"{URL}{large.pk}/").json()["lines"]) >= 2
    assert len(one_line) == len(more_lines)
    with django_assert_max_num_queries(8):
        reader.get(f"{URL}{large.pk}/")


def test_an_unknown_invoice_is_404(reader, seller):
    response = reader.get(f"{URL}999999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- PDF and UBL ---------------------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    """The invoice ids whose PDF render was sent to the broker (the broker is the outside world)."""
    from invoicing import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.invoice_render_pdf, "delay", lambda invoice_id: sent.append(invoice_id))
    return sent


def test_a_pdf_being_rendered_is_202_and_queued_then_200(reader, invoiced, queued, django_capture_on_commit_callbacks):
    invoice = invoiced({"PUMP": 2})
    queued.clear()  # issuing queued the first render
    url = f"{URL}{invoice.pk}/pdf/"

    with django_capture_on_commit_callbacks(execute=True):
        waiting = reader.get(url, HTTP_ACCEPT="application/pdf")
    assert waiting.status_code == 202
    assert waiting["Retry-After"] == "5" and waiting["Content-Type"] == "application/json"
    assert waiting.json() == {
        "status": "preparing",
        "message": f"The PDF of Invoice {invoice.number} is being prepared; ask again in a few seconds.",
        "retry_after": 5,
    }
    assert queued == [invoice.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert reader.get(url).status_code == 202
    assert queued == [invoice.pk]  # polling does not flood the queue

    invoice_pdf_render(invoice_id=invoice.pk)  # what the worker does

    served = reader.get(url, HTTP_ACCEPT="application/pdf")
    assert served.status_code == 200
    assert served["Content-Type"] == "application/pdf"
    assert served["Content-Disposition"] == f'attachment; filename="invoice-{invoice.number}.pdf"'
    assert b"".join(served.streaming_content).startswith(b"%PDF")


def test_a_lost_pdf_file_is_rendered_again(reader, invoiced, queued, django_capture_on_commit_callbacks):
    invoice = invoice_pdf_render(invoice_id=invoiced({"PUMP": 1}).pk)
    invoice.pdf.storage.delete(invoice.pdf.name)
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert reader.get(f"{URL}{invoice.pk}/pdf/").status_code == 202
    assert queued == [invoice.pk]


def test_with_the_broker_down_the_pdf_is_still_202_and_asked_for_again_next_time(
    reader, invoiced, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from invoicing import tasks

    invoice = invoiced({"PUMP": 1})
    attempts = []

    def broker_down(invoice_id):
        attempts.append(invoice_id)
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.invoice_render_pdf, "delay", broker_down)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert reader.get(f"{URL}{invoice.pk}/pdf/").status_code == 202
    assert attempts == [invoice.pk, invoice.pk]


def test_a_draft_has_no_pdf_nor_ubl(reader, draft, queued, django_capture_on_commit_callbacks):
    for document in ("pdf", "ubl"):
        with django_capture_on_commit_callbacks(execute=True):
            response = reader.get(f"{URL}{draft.pk}/{document}/", HTTP_ACCEPT="application/pdf")
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "invalid_state"
        assert (
            error["message"] == f"Invoice draft {draft.pk} is draft: it gets its {document.upper()} when it is issued."
        )
    assert queued == []


def test_the_ubl_is_the_stored_xml(reader, invoiced):
    customer = CustomerFactory(org_number="556036-0793", vat_number="SE556036079301", credit_limit=Decimal("10000000"))
    invoice = invoiced({"PUMP": 1}, customer=customer)
    assert invoice.ubl.startswith("<?xml")
    response = reader.get(f"{URL}{invoice.pk}/ubl/", HTTP_ACCEPT="application/xml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="invoice-{invoice.number}.xml"'
    assert response.content.decode() == invoice.ubl


def test_an_issued_invoice_without_ubl_is_404(reader, invoiced):
    invoice = invoiced({"PUMP": 1})
    if invoice.ubl:
        pytest.skip("the UBL generator addresses this buyer")
    response = reader.get(f"{URL}{invoice.pk}/ubl/")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"Invoice {invoice.number} has no UBL document."


# --- credit notes --------------------------------------------------------------------------------


def test_credit_part_of_an_invoice_by_its_number(accountant, invoiced):
    invoice = invoiced({"PUMP": 2, "BOOK": 3})
    response = accountant.post(
        CREDIT_URL,
        {"invoice": invoice.number, "reason": "One pump damaged", "lines": [{"line": 1, "quantity": "1"}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    credit = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert response["Location"] == f"/api/v1/invoices/{credit.pk}/"
    assert (body["id"], body["kind"], body["number"]) == (credit.pk, "credit_note", "")
    assert body["status"] in ("draft", "approved")
    assert (body["credited_invoice"], body["credited_invoice_id"]) == (invoice.number, invoice.pk)
    assert body["reason"] == "One pump damaged"
    assert [(line["sku"], line["quantity"], line["net_amount"], line["credited_line"]) for line in body["lines"]] == [
        ("PUMP", "1.000", "1000.00", 1)
    ]
    # 1000.00 at the invoice's 25 %.
    assert (body["net_amount"], body["vat_amount"], body["payable_amount"]) == ("1000.00", "250.00", "1250.00")
    assert body["vat_breakdown"] == [
        {"category_code": "S", "rate": "25.00", "taxable_amount": "1000.00", "vat_amount": "250.00"}
    ]
    assert body["customer"] == invoice.customer.number and body["order_id"] == invoice.order_id
    assert accountant.get(f"{URL}{credit.pk}/").json() == body
    assert [c["id"] for c in accountant.get(f"{URL}{invoice.pk}/").json()["credit_notes"]] == [credit.pk]
    assert AuditEntry.objects.filter(object_id=str(credit.pk), via="api").exists()


def test_credit_a_whole_invoice_by_its_id(accountant, invoiced):
    invoice = invoiced({"PUMP": 2, "BOOK": 3})
    response = accountant.post(
        CREDIT_URL, {"invoice": invoice.pk, "reason": "Wrong customer", "full": True}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    # Every line back at the invoice's prices: the same amounts.
    assert [(line["position"], line["sku"], line["quantity"]) for line in body["lines"]] == [
        (1, "PUMP", "2.000"),
        (2, "BOOK", "3.000"),
    ]
    assert (body["net_amount"], body["vat_amount"], body["gross_amount"], body["payable_amount"]) == (
        "2597.00",
        "535.82",
        "3132.82",
        "3132.82",
    )
    again = accountant.post(CREDIT_URL, {"invoice": invoice.pk, "reason": "Again", "full": True}, format="json")
    assert again.status_code == 409
    assert again.json()["error"] == {"code": "conflict", "message": "Everything on this invoice is credited already."}
    assert len(credit_notes()) == 1


def test_what_was_credited_before_cannot_be_credited_again(accountant, invoiced):
    invoice = invoiced({"PUMP": 2})
    body = {"invoice": invoice.pk, "reason": "Damaged", "lines": [{"line": 1, "quantity": "1.5"}]}
    assert accountant.post(CREDIT_URL, body, format="json").status_code == 201
    again = accountant.post(CREDIT_URL, {**body, "lines": [{"line": 1, "quantity": "1"}]}, format="json")
    assert error_fields(again) == {"lines[0].quantity": ["At most 0.5 can be credited (2 invoiced)."]}
    assert (
        accountant.post(CREDIT_URL, {**body, "lines": [{"line": 1, "quantity": "0.5"}]}, format="json").status_code
        == 201
    )
    assert [c.lines.get().quantity for c in credit_notes()] == [Decimal("1.5"), Decimal("0.5")]


MISSING = object()
BAD_BODIES = [
    ("unknown id", {"invoice": 999999999}, "invoice", "No invoice with id 999999999."),
    ("unknown number", {"invoice": "NOPE-1"}, "invoice", "No invoice with number NOPE-1."),
    ("invoice missing", {"invoice": None}, "invoice", "This field may not be null."),
    (
        "invoice of a wrong type",
        {"invoice": True},
        "invoice",
        "Give the invoice's id (a number) or its number (a string).",
    ),
    ("no reason", {"reason": MISSING}, "reason", "This field is required."),
    ("blank reason", {"reason": "  "}, "reason", "This field may not be blank."),
    (
        "neither lines nor full",
        {"lines": MISSING, "full": False},
        "lines",
        "Choose the lines to credit, or set full to true.",
    ),
    ("lines and full", {"full": True}, "lines", "Give either lines or full, not both."),
    (
        "line not on the invoice",
        {"lines": [{"line": 1, "quantity": "1"}, {"line": 7, "quantity": "1"}]},
        "lines[1].line",
        "Invoice 1001 has no line 7.",
    ),
    (
        "line listed twice",
        {"lines": [{"line": 2, "quantity": "1"}, {"line": 2, "quantity": "1"}]},
        "lines[1].line",
        "Line 2 is listed twice.",
    ),
    ("zero", {"lines": [{"line": 1, "quantity": "0"}]}, "lines[0].quantity", "The quantity must be more than 0."),
    ("negative", {"lines": [{"line": 1, "quantity": "-1"}]}, "lines[0].quantity", "The quantity must be more than 0."),
    (
        "more than invoiced",
        {"lines": [{"line": 2, "quantity": "4"}]},
        "lines[0].quantity",
        "At most 3 can be credited (3 invoiced).",
    ),
    (
        "too precise",
        {"lines": [{"line": 1, "quantity": "0.0001"}]},
        "lines[0].quantity",
        "A quantity has at most 3 decimals.",
    ),
    ("not a number", {"lines": [{"line": 1, "quantity": "one"}]}, "lines[0].quantity", "A valid number is required."),
    ("no position", {"lines": [{"quantity": "1"}]}, "lines[0].line", "This field is required."),
]


@pytest.mark.parametrize(
    ("overrides", "path", "message"), [case[1:] for case in BAD_BODIES], ids=[c[0] for c in BAD_BODIES]
)
def test_bad_input_is_400_with_field_paths_and_saves_nothing(accountant, invoiced, overrides, path, message):
    invoice = invoiced({"PUMP": 2, "BOOK": 3})
    assert invoice.number == "1001"
    body = {"invoice": invoice.pk, "reason": "Damaged", "lines": [{"line": 1, "quantity": "1"}], **overrides}
    body = {key: value for key, value in body.items() if value is not MISSING}
    response = accountant.post(CREDIT_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert error_fields(response) == {path: [message]}
    assert credit_notes() == []
    assert not IdempotencyKey.objects.exists()
    assert not AuditEntry.objects.filter(via="api").exists()


def test_a_draft_cannot_be_credited(accountant, draft):
    response = accountant.post(CREDIT_URL, {"invoice": draft.pk, "reason": "x", "full": True}, format="json")
    assert error_fields(response) == {
        "invoice": [
            f"Invoice draft {draft.pk} is draft; only an issued invoice can be credited (change the draft instead)."
        ]
    }
    assert credit_notes() == []


def test_a_credit_note_cannot_be_credited(accountant, invoiced, finance):
    credit = services.credit_note_create(invoice=invoiced({"PUMP": 1}), reason="x", actor=finance)
    response = accountant.post(CREDIT_URL, {"invoice": credit.pk, "reason": "x", "full": True}, format="json")
    assert error_fields(response) == {"invoice": [f"No invoice with id {credit.pk}."]}


def test_the_same_key_and_body_replays_the_first_answer_and_creates_nothing(accountant, invoiced):
    invoice = invoiced({"PUMP": 2})
    body = {"invoice": invoice.number, "reason": "Damaged", "lines": [{"line": 1, "quantity": "1"}]}
    first = accountant.post(CREDIT_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="credit-1")
    again = accountant.post(CREDIT_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="credit-1")
    assert first.status_code == 201
    assert (again.status_code, again.json()) == (201, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert len(credit_notes()) == 1
    other = accountant.post(CREDIT_URL, {**body, "reason": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="credit-1")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(credit_notes()) == 1
    # Without a key, the same body is a second credit note.
    assert accountant.post(CREDIT_URL, body, format="json").status_code == 201
    assert len(credit_notes()) == 2


def test_a_failed_request_stores_no_key_so_the_client_can_fix_and_retry(accountant, invoiced):
    invoice = invoiced({"PUMP": 2})
    body = {"invoice": invoice.pk, "reason": "Damaged", "lines": [{"line": 1, "quantity": "5"}]}
    assert accountant.post(CREDIT_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 400
    fixed = {**body, "lines": [{"line": 1, "quantity": "2"}]}
    assert accountant.post(CREDIT_URL, fixed, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201


@pytest.fixture
def vat_seeded(transactional_db):
    """Transactional tests start without the VAT categories the migration seeded."""
    from orders.migrations import _seed

    _seed.vat()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_20_concurrent_posts_with_one_key_make_one_credit_note_and_get_one_answer(vat_seeded, invoiced, api_client_for):
    from django.db import connections

    invoice = invoiced({"PUMP": 2})
    client = api_client_for("finance")
    body = {"invoice": invoice.pk, "reason": "Damaged", "lines": [{"line": 1, "quantity": "1"}]}
    start = threading.Barrier(20)
    responses = []

    def post():
        try:
            start.wait()
            response = client.post(CREDIT_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="same-key")
            responses.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(credit_notes()) == 1
    assert len(responses) == 20
    assert {status for status, _ in responses} == {201}
    assert all(answer == responses[0][1] for _, answer in responses)
    assert credit_notes()[0].lines.get().quantity == Decimal(1)


# --- who may do what -----------------------------------------------------------------------------

# (method, path template, capability, body template) as in tests/common/test_permissions.py.
API = [
    ("get", "/api/v1/invoices/", "invoice.view", None),
    ("get", "/api/v1/invoices/{invoice}/", "invoice.view", None),
    ("get", "/api/v1/invoices/{invoice}/pdf/", "invoice.view", None),
    ("get", "/api/v1/invoices/{invoice}/ubl/", "invoice.view", None),
    ("post", "/api/v1/credit-notes/", "credit_note.create", {"invoice": "{invoice}", "reason": "test", "full": True}),
]


@pytest.fixture
def records(invoiced):
    invoice = invoiced({"PUMP": 1}, customer=CustomerFactory(org_number="556036-0793", credit_limit=Decimal("1e7")))
    return {"invoice": invoice.pk}


def fill(data: dict | None, records: dict) -> dict | None:
    """The body with "{invoice}" replaced by the record's id (a JSON number, as a client sends it)."""
    if data is None:
        return None
    return {key: records[value.strip("{}")] if value == "{invoice}" else value for key, value in data.items()}


def cases(table):
    return [pytest.param(row, role, id=f"{role.value}-{row[0]}-{row[1]}") for row in table for role in Role]


@pytest.mark.parametrize(("row", "role"), cases(API))
def test_api_checks_the_role(api_client_for, records, queued, row, role):
    method, path, capability, data = row
    response = getattr(api_client_for(role), method)(path.format(**records), fill(data, records), format="json")
    if role in CAPABILITIES[capability]:
        assert response.status_code in (200, 201, 202), response.content
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("row", API, ids=lambda row: f"{row[0]}-{row[1]}")
def test_api_without_a_token_is_401(api_client_for, records, row):
    method, path, _, data = row
    response = getattr(api_client_for(None), method)(path.format(**records), fill(data, records), format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_sales_may_read_invoices_but_not_credit_them(api_client_for, records):
    sales = api_client_for("sales")
    assert sales.get(URL).status_code == 200
    body = {"invoice": records["invoice"], "reason": "x", "full": True}
    assert sales.post(CREDIT_URL, body, format="json").status_code == 403
    assert credit_notes() == []


def test_there_is_nothing_to_get_at_credit_notes(accountant, seller):
    assert accountant.get(CREDIT_URL).status_code == 405


# --- the schema ----------------------------------------------------------------------------------


def test_the_schema_documents_the_invoicing_endpoints(reader):
    schema = reader.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {
        "/api/v1/invoices/",
        "/api/v1/invoices/{id}/",
        "/api/v1/invoices/{id}/pdf/",
        "/api/v1/invoices/{id}/ubl/",
        "/api/v1/credit-notes/",
    } <= set(paths)
    post = paths["/api/v1/credit-notes/"]["post"]
    assert post["summary"] == "Draft a credit note"
    examples = post["requestBody"]["content"]["application/json"]["examples"].values()
    assert [example["summary"] for example in examples] == [
        "Credit one pump of invoice 1001",
        "Credit invoice 42 in full",
    ]
    assert any(parameter["name"] == "Idempotency-Key" for parameter in post["parameters"])
    assert "lines[0].quantity" in str(post["responses"]["400"]["content"]["application/json"]["examples"])
    pdf = paths["/api/v1/invoices/{id}/pdf/"]["get"]["responses"]
    assert set(pdf) == {"200", "202", "409"}
    assert "application/pdf" in pdf["200"]["content"] and "Retry-After" in pdf["202"]["headers"]
    filters = {parameter["name"] for parameter in paths["/api/v1/invoices/"]["get"]["parameters"]}
    assert {"customer", "status", "kind", "order", "issued_from", "issued_to", "due_from", "due_to", "q"} <= filters


def test_the_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    # --fail-on-warn: an enum name collision or an unresolvable field would fail here.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/credit-notes/" in (tmp_path / "schema.yaml").read_text()
