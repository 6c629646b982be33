"""Every invoicing page against every role: allowed ones answer, the rest get 403, anonymous users log in."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import get_resolver

from invoicing import services
from invoicing.models import InvoiceRun
from o2c.common.roles import CAPABILITIES, Role
from tests.factories import CustomerFactory, user_with_role, vat_category

pytestmark = pytest.mark.django_db

# (method, path template, capability, form data for POSTs). POSTs send data the service refuses or
# that changes a throwaway draft: the test is about who may, not what happens.
PAGES = [
    ("get", "/invoices/", "invoice.view", None),
    ("get", "/invoices/approval/", "invoice.approve", None),
    ("get", "/invoices/new/", "invoice.edit", None),
    ("post", "/invoices/new/", "invoice.edit", {"lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0"}),
    ("get", "/invoices/to-invoice/", "invoice.edit", None),
    ("post", "/invoices/to-invoice/", "invoice.edit", {"group": "shipments:999999"}),
    ("get", "/invoices/{draft}/", "invoice.view", None),
    ("get", "/invoices/{issued}/", "invoice.view", None),
    ("post", "/invoices/{draft}/approve/", "invoice.approve", {"note": "ok"}),
    ("post", "/invoices/{draft}/reopen/", "invoice.edit", {"reason": "x"}),
    ("post", "/invoices/{draft}/discard/", "invoice.edit", {"reason": ""}),
    ("post", "/invoices/{draft}/issue/", "invoice.issue", {}),
    ("post", "/invoices/{issued}/send/", "invoice.issue", {"recipient": "not-an-address"}),
    ("post", "/invoices/{draft}/lines/", "invoice.edit", {"description": ""}),
    ("post", "/invoices/{draft}/allowances-charges/", "invoice.edit", {"reason": ""}),
    ("post", "/invoices/{issued}/credit-note/", "credit_note.create", {"reason": ""}),
    ("get", "/invoices/{issued}/pdf/", "invoice.view", None),
    ("get", "/invoices/{issued}/pdf/status/", "invoice.view", None),
    ("get", "/invoices/{issued}/ubl/", "invoice.view", None),
    ("post", "/invoices/lines/{line}/", "invoice.edit", {"quantity": "-1", "unit_price": "1", "discount_percent": "0"}),
    ("post", "/invoices/lines/{line}/remove/", "invoice.edit", {}),
    ("get", "/invoices/runs/", "invoice.run", None),
    ("post", "/invoices/runs/", "invoice.run", {"up_to": ""}),
    ("get", "/invoices/runs/{run}/", "invoice.run", None),
    ("get", "/invoices/exchange-rates/", "exchange_rate.view", None),
    ("post", "/invoices/exchange-rates/", "exchange_rate.edit", {}),
    ("get", "/invoices/settings/", "invoicing_settings.edit", None),
    ("post", "/invoices/settings/", "invoicing_settings.edit", {"auto_approve_below": "-1"}),
]


def manual_draft(finance):
    customer = CustomerFactory(invoice_email="ap@example.com", org_number="556677-8899")
    lines = [
        services.ManualLine(
            description="Service fee", quantity=Decimal(1), unit_price=Decimal(500), vat_category=vat_category()
        )
    ]
    return services.invoice_draft_manual(customer=customer, lines=lines, actor=finance)


@pytest.fixture
def records(request):
    """Only the records a path names are made: a manual draft, one approved and issued, a run."""

    def make(path: str) -> dict:
        names = set(re.findall(r"\{(\w+)\}", path))
        request.getfixturevalue("seller")
        values = {}
        if names & {"draft", "line"}:
            draft = manual_draft(request.getfixturevalue("finance"))
            values["draft"] = draft.pk
            values["line"] = draft.lines.first().pk
        if "issued" in names:
            invoice = manual_draft(request.getfixturevalue("finance"))
            finance2 = request.getfixturevalue("finance2")
            services.invoice_approve(invoice=invoice, actor=finance2)
            values["issued"] = services.invoice_issue(invoice=invoice, actor=finance2).pk
        if "run" in names:
            values["run"] = InvoiceRun.objects.create(up_to=datetime.date(2026, 3, 1)).pk
        return values

    return make


def cases():
    return [pytest.param(row, role, id=f"{role.value}-{row[0]}-{row[1]}") for row in PAGES for role in Role]


@pytest.mark.parametrize(("row", "role"), cases())
def test_invoicing_pages_check_the_role(client, records, row, role):
    method, path, capability, data = row
    url = path.format(**records(path))
    client.force_login(user_with_role(role, f"{role.value}-viewer"))
    response = getattr(client, method)(url, data=data or {})
    if role in CAPABILITIES[capability]:
        assert response.status_code in (200, 202, 302, 400), response.status_code
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("row", PAGES, ids=lambda row: f"{row[0]}-{row[1]}")
def test_invoicing_pages_send_anonymous_users_to_login(client, row):
    method, path, _capability, data = row
    ids = dict.fromkeys(re.findall(r"\{(\w+)\}", path), 1)  # refused before any lookup
    response = getattr(client, method)(path.format(**ids), data=data or {})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_every_invoicing_url_is_in_the_matrix():
    invoicing = next(
        p
        for p in get_resolver().url_patterns
        if getattr(getattr(p, "urlconf_module", None), "__name__", "") == "invoicing.urls"
    )
    served = {"/invoices/" + str(p.pattern) for p in invoicing.url_patterns}
    covered = {re.sub(r"\{\w+\}", "<int:pk>", path) for _method, path, _cap, _data in PAGES}
    assert served == covered


def test_finance_sees_invoices_and_exchange_rates_in_the_menu(client, seller):
    client.force_login(user_with_role(Role.FINANCE))
    labels = [str(item["label"]) for item in client.get("/").context["nav_items"]]
    assert "Invoices" in labels and "Exchange rates" in labels
    client.force_login(user_with_role(Role.WAREHOUSE))
    labels = [str(item["label"]) for item in client.get("/").context["nav_items"]]
    assert "Invoices" not in labels and "Exchange rates" not in labels
