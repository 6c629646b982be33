"""Invoice runs, exchange rates and the invoicing settings, as finance and the administrator use them."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from invoicing import services
from invoicing.models import ChannelAutoApproval, ExchangeRate, InvoiceRun, InvoiceRunStatus
from o2c.common.models import AuditEntry
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance_client(client, finance):
    client.force_login(finance)
    return client


# Runs --------------------------------------------------------------------------------------------


def test_a_run_starts_and_its_page_polls_until_done_then_shows_the_summary(
    finance_client, shipped, django_capture_on_commit_callbacks
):
    shipped({"PUMP": 1})
    shipped({"BOOK": 2})
    page = finance_client.get("/invoices/runs/")
    assert page.context["form"]["up_to"].value() == timezone.localdate()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = finance_client.post("/invoices/runs/", {"up_to": "2026-03-31", "issue_approved": "on"})
    run = InvoiceRun.objects.get()
    assert response["Location"] == f"/invoices/runs/{run.pk}/"
    assert len(callbacks) == 1  # the Celery task, sent after commit
    assert (run.status, run.total, run.processed) == (InvoiceRunStatus.QUEUED, 2, 0)

    queued = finance_client.get(f"/invoices/runs/{run.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in queued and "0 of 2 done (0 %)" in queued
    assert 'data-testid="run-summary"' not in queued
    assert "<html" not in queued  # the partial only

    services.invoice_run_execute(run_id=run.pk)  # what the worker does
    done = finance_client.get(f"/invoices/runs/{run.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done and "2 of 2 done (100 %)" in done
    assert 'data-testid="run-summary"' in done
    assert done.count('data-testid="run-invoice"') == 2
    summary = InvoiceRun.objects.get().summary
    assert summary["invoices"] == 2 and summary["awaiting_approval"] == 2
    assert '<dd data-testid="summary-awaiting">2</dd>' in done
    full = finance_client.get(f"/invoices/runs/{run.pk}/").content.decode()
    assert "<html" in full and 'data-testid="run-list"' not in full
    assert finance_client.get("/invoices/runs/").content.decode().count('data-testid="run-row"') == 1


def test_a_run_shows_what_failed(finance_client, seller):
    run = InvoiceRun.objects.create(
        up_to=datetime.date(2026, 3, 1),
        status=InvoiceRunStatus.DONE,
        total=2,
        processed=2,
        summary={
            "invoices": 1,
            "issued": 1,
            "failed": 1,
            "amounts": {"EUR": "100.00"},
            "errors": ["Shipments 7: no rate"],
        },
    )
    page = finance_client.get(f"/invoices/runs/{run.pk}/").content.decode()
    assert "Shipments 7: no rate" in page and "100.00\xa0EUR" in page


def test_a_run_in_the_future_is_refused(finance_client, seller):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = finance_client.post("/invoices/runs/", {"up_to": tomorrow.isoformat()})
    assert response.status_code == 400 and "future" in response.content.decode()
    assert not InvoiceRun.objects.exists()


def test_the_run_list_needs_a_fixed_number_of_queries(finance_client, seller, finance, django_assert_max_num_queries):
    for day in range(1, 21):
        InvoiceRun.objects.create(up_to=datetime.date(2026, 3, day), started_by=finance)
    finance_client.get("/invoices/runs/")
    with django_assert_max_num_queries(6):
        response = finance_client.get("/invoices/runs/")
    assert len(response.context["rows"]) == 20


# Exchange rates ----------------------------------------------------------------------------------


def upload(client, text: str):
    return client.post(
        "/invoices/exchange-rates/",
        {"file": SimpleUploadedFile("rates.csv", text.encode(), content_type="text/csv"), "source": "Riksbanken"},
    )


def test_rates_are_imported_from_csv_and_listed_by_currency(finance_client, seller):
    response = upload(finance_client, "date;currency;rate\n2026-03-02;EUR;11,2345\n2026-03-02;NOK;0,9712\n")
    assert response.status_code == 302
    assert ExchangeRate.objects.get(currency="EUR").rate == Decimal("11.2345")
    assert ExchangeRate.objects.get(currency="EUR").base_currency == "SEK"
    listed = finance_client.get("/invoices/exchange-rates/", {"currency": "NOK"})
    assert [r.currency for r in listed.context["rows"]] == ["NOK"]


def test_a_bad_csv_lists_each_bad_line_and_saves_nothing(finance_client, seller):
    response = upload(finance_client, "2026-03-02;EUR;11,2\n2026-13-01;EUR;11\n2026-03-02;XXX;1\n")
    page = response.content.decode()
    assert response.status_code == 400
    assert "Line 2:" in page and "Line 3:" in page and "Nothing was imported" in page
    assert not ExchangeRate.objects.exists()


def test_managers_see_rates_but_cannot_import(client, seller):
    client.force_login(user_with_role("manager"))
    page = client.get("/invoices/exchange-rates/").content.decode()
    assert 'data-testid="rate-list"' in page and 'data-testid="rate-import-form"' not in page
    assert upload(client, "2026-03-02;EUR;11\n").status_code == 403


def test_the_rate_list_needs_a_fixed_number_of_queries(finance_client, seller, finance, django_assert_max_num_queries):
    ExchangeRate.objects.bulk_create(
        ExchangeRate(
            currency="EUR",
            base_currency="SEK",
            date=datetime.date(2026, 1, 1) + datetime.timedelta(days=n),
            rate=11,
            imported_by=finance,
        )
        for n in range(60)
    )
    finance_client.get("/invoices/exchange-rates/")
    with django_assert_max_num_queries(7):
        response = finance_client.get("/invoices/exchange-rates/")
    assert len(response.context["rows"]) == 50


# Settings ----------------------------------------------------------------------------------------


def settings_post(**overrides):
    data = {"auto_approve_below": "500", "second_approval_from": "100000", "footer": "Tack för din beställning"}
    return {**data, **overrides}


def test_the_administrator_changes_the_settings_and_it_is_audited(client, seller):
    client.force_login(user_with_role("admin"))
    assert client.get("/invoices/settings/").status_code == 200
    response = client.post("/invoices/settings/", settings_post(round_to_whole_units="on", channel_webshop="2000"))
    assert response.status_code == 302
    settings = services.invoicing_settings_for(seller)
    assert settings.round_to_whole_units and settings.auto_approve_below == Decimal("500")
    assert settings.second_approval_from == Decimal("100000") and settings.footer == "Tack för din beställning"
    assert ChannelAutoApproval.objects.get(channel="webshop").below == Decimal("2000")
    entry = AuditEntry.objects.filter(object_id=str(settings.pk), changes__has_key="auto_approve_below").get()
    old, new = entry.changes["auto_approve_below"]
    assert (Decimal(old), Decimal(new)) == (Decimal("0"), Decimal("500"))

    client.post("/invoices/settings/", settings_post())  # the web shop's amount cleared
    assert not ChannelAutoApproval.objects.exists()


def test_a_second_approval_below_the_auto_approval_is_refused(client, seller):
    client.force_login(user_with_role("admin"))
    response = client.post("/invoices/settings/", settings_post(second_approval_from="100"))
    assert response.status_code == 400 and "second approval" in response.content.decode()
    assert services.invoicing_settings_for(seller).auto_approve_below == Decimal("0")


def test_a_logo_is_uploaded(client, seller):
    client.force_login(user_with_role("admin"))
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    data = settings_post(logo=SimpleUploadedFile("logo.png", png, content_type="image/png"))
    assert client.post("/invoices/settings/", data).status_code == 302
    settings = services.invoicing_settings_for(seller)
    assert settings.logo.name.startswith("company/logo")
