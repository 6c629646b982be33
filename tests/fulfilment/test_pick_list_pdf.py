import datetime
import io
import time
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from fulfilment import services
from fulfilment.models import PickList
from orders import services as order_services
from orders.services import LineInput
from tests.factories import CustomerFactory, ProductFactory, user_with_role


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def pick_list(db):
    pump = ProductFactory(sku="HP-AIR-8", name="Värmepump 8 kW")
    pipe = ProductFactory(sku="PIPE-15", name="Kopparrör 15 mm")
    for product, quantity, bin_location in ((pump, "5", "A-01-1"), (pipe, "100", "C-02-1")):
        services.stock_receive(product=product, quantity=Decimal(quantity), actor=None)
        services.stock_count(product=product, counted=Decimal(quantity), actor=None, bin_location=bin_location)
    order = order_services.order_create(
        customer=CustomerFactory(name="Fjällbacka Bygg AB", credit_limit=Decimal("10000000")),
        actor=None,
        lines=[LineInput(sku="PIPE-15", quantity=Decimal("12")), LineInput(sku="HP-AIR-8", quantity=Decimal("1"))],
    )
    services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=1))
    return PickList.objects.get(order=order)


def test_the_pdf_lists_the_lines_by_bin_with_the_order_and_customer(pick_list):
    rendered = services.pick_list_pdf_render(pick_list_id=pick_list.pk, language="sv")
    with rendered.pdf.open("rb") as handle:
        data = handle.read()
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert f"Plocklista {pick_list.pk}" in text
    assert str(pick_list.order.number) in text
    assert "Fjällbacka Bygg AB" in text
    assert text.index("A-01-1") < text.index("C-02-1")  # sorted by bin, not by order line
    assert "HP-AIR-8" in text and "PIPE-15" in text and "12" in text
    assert rendered.pdf_rendered_at is not None


def test_the_page_asks_a_worker_first_then_serves_the_file(client, pick_list, django_capture_on_commit_callbacks):
    client.force_login(user_with_role("warehouse"))
    url = f"/warehouse/pick-lists/{pick_list.pk}/pdf/"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        waiting = client.get(url)
    assert waiting.status_code == 202
    assert "being prepared" in waiting.content.decode()
    assert len(callbacks) == 1  # the render task, sent once the request's work has committed
    services.pick_list_pdf_render(pick_list_id=pick_list.pk)  # what the worker does
    served = client.get(url)
    assert served.status_code == 200
    assert served["Content-Type"] == "application/pdf"
    assert b"".join(served.streaming_content).startswith(b"%PDF")
    pick_list.refresh_from_db()
    pick_list.pdf.storage.delete(pick_list.pdf.name)  # lost from storage
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert client.get(url).status_code == 202
    assert len(callbacks) == 1


def test_sales_may_not_open_pick_lists(client, pick_list):
    client.force_login(user_with_role("sales"))
    assert client.get(f"/warehouse/pick-lists/{pick_list.pk}/pdf/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_renders_the_pdf(celery_broker, settings):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs Redis (the real broker); set CELERY_BROKER_URL or start it on :6379")
    from celery.contrib.testing.worker import start_worker

    from o2c.celery import app
    from orders.migrations import _seed

    _seed.vat()
    service = ProductFactory(sku="INSTALL", kind="service")
    order = order_services.order_create(
        customer=CustomerFactory(credit_limit=Decimal("100000")),
        actor=None,
        lines=[LineInput(sku=service.sku, quantity=Decimal(2))],
    )
    services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=1))
    pick_list = PickList.objects.get(order=order)
    celery_broker(settings.CELERY_BROKER_URL)
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=10):
        services.pick_list_pdf_request(pick_list=pick_list, language="en")  # outside a transaction: sent now
        for _ in range(150):
            pick_list.refresh_from_db()
            if pick_list.pdf:
                break
            time.sleep(0.1)
    assert pick_list.pdf
    with pick_list.pdf.open("rb") as handle:
        assert f"Pick list {pick_list.pk}" in pdf_text(handle.read())
