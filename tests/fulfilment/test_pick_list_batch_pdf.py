"""The batch pick list as a PDF: asked for on the batch page, rendered by a worker, downloaded when ready."""

import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from fulfilment import services
from fulfilment.models import BatchPickList, BatchPickListStatus, PickList
from o2c.common.audit import audit_trail_for
from o2c.common.models import AuditAction
from orders import services as order_services
from orders.services import LineInput
from tests.factories import CustomerFactory, ProductFactory, user_with_role


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def order_of(*lines):
    return order_services.order_create(
        customer=CustomerFactory(credit_limit=Decimal("10000000")),
        actor=None,
        lines=[LineInput(sku=sku, quantity=Decimal(quantity)) for sku, quantity in lines],
    )


@pytest.fixture
def batch(db):
    """Two released orders sharing a bin: the route is A-01-1, B-05-2, C-02-1 whatever the line order."""
    for sku, name, bin_location in (
        ("PIPE-15", "Kopparrör 15 mm", "C-02-1"),
        ("HP-AIR-8", "Värmepump 8 kW", "A-01-1"),
        ("VALVE-22", "Ventil 22 mm", "B-05-2"),
    ):
        product = ProductFactory(sku=sku, name=name)
        services.stock_receive(product=product, quantity=Decimal(100), actor=None)
        services.stock_count(product=product, counted=Decimal(100), actor=None, bin_location=bin_location)
    first = order_of(("PIPE-15", "12"), ("HP-AIR-8", "1"))
    second = order_of(("VALVE-22", "4"), ("HP-AIR-8", "2"))
    services.orders_release_due(now=timezone.now() + datetime.timedelta(hours=1))
    pick_lists = [PickList.objects.get(order=first), PickList.objects.get(order=second)]
    return first, second, [pick_list.pk for pick_list in pick_lists]


@pytest.fixture
def worker(db):
    return user_with_role("warehouse")


def test_the_pdf_walks_the_bins_with_each_orders_quantities(batch, worker):
    first, second, ids = batch
    requested = services.batch_pick_list_pdf_request(pick_list_ids=ids, actor=worker, language="sv")
    rendered = services.batch_pick_list_pdf_render(batch_id=requested.pk)  # what the worker does
    assert rendered.status == BatchPickListStatus.READY and rendered.rendered_at is not None
    with rendered.pdf.open("rb") as handle:
        data = handle.read()
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert f"Samplock {rendered.pk}" in text  # the title, in the language asked for
    # The route: each bin once, in bin order, its SKU beside it, and the orders it is taken for.
    route = [
        "A-01-1",
        "HP-AIR-8",
        str(first.number),
        str(second.number),
        "B-05-2",
        "VALVE-22",
        str(second.number),
        "C-02-1",
        "PIPE-15",
        str(first.number),
    ]
    positions = []
    start = 0
    for word in route:
        start = text.index(word, start)
        positions.append(start)
    assert positions == sorted(positions)
    assert "3" in text.split("HP-AIR-8", 1)[1].split("B-05-2", 1)[0]  # 1 + 2 pumps from A-01-1
    assert text.count("A-01-1") == 1  # merged: one stop per bin and product


def test_asking_again_for_the_same_batch_reuses_it(batch, worker, django_capture_on_commit_callbacks):
    _, _, ids = batch
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = services.batch_pick_list_pdf_request(pick_list_ids=ids, actor=worker, language="en")
        again = services.batch_pick_list_pdf_request(
            pick_list_ids=list(reversed(ids)), actor=user_with_role("manager"), language="en"
        )
    assert again.pk == first.pk
    assert BatchPickList.objects.count() == 1
    assert len(callbacks) == 1  # one render asked for, not one per request
    services.batch_pick_list_pdf_render(batch_id=first.pk)
    rendered_at = BatchPickList.objects.get().rendered_at
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.batch_pick_list_pdf_request(pick_list_ids=ids, actor=worker, language="en")
    services.batch_pick_list_pdf_render(batch_id=first.pk)  # a duplicate message changes nothing
    assert callbacks == []
    assert BatchPickList.objects.get().rendered_at == rendered_at
    created = audit_trail_for(first).filter(action=AuditAction.CREATE).get()
    assert created.actor == worker and created.via == "web"
    assert audit_trail_for(first).filter(action=AuditAction.TRANSITION, via="worker").count() == 1


def test_a_lost_file_is_rendered_again(batch, worker, django_capture_on_commit_callbacks):
    _, _, ids = batch
    requested = services.batch_pick_list_pdf_request(pick_list_ids=ids, actor=worker, language="en")
    rendered = services.batch_pick_list_pdf_render(batch_id=requested.pk)
    rendered.pdf.storage.delete(rendered.pdf.name)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = services.batch_pick_list_pdf_request(pick_list_ids=ids, actor=worker, language="en")
    assert again.pk == requested.pk and again.status == BatchPickListStatus.PREPARING
    assert len(callbacks) == 1
    again = services.batch_pick_list_pdf_render(batch_id=again.pk)
    assert again.status == BatchPickListStatus.READY and again.pdf.storage.exists(again.pdf.name)


def test_only_open_pick_lists_can_be_batched(batch, worker):
    from o2c.common.exceptions import ApplicationError

    with pytest.raises(ApplicationError, match="None of these pick lists is open"):
        services.batch_pick_list_pdf_request(pick_list_ids=[0], actor=worker, language="en")
    assert BatchPickList.objects.count() == 0


def test_the_pages_ask_a_worker_and_never_render_in_the_request(
    client, batch, worker, monkeypatch, django_capture_on_commit_callbacks
):
    import weasyprint

    def no_rendering_here(*args, **kwargs):
        raise AssertionError("a PDF was rendered inside the request")

    monkeypatch.setattr(weasyprint, "HTML", no_rendering_here)
    _, _, ids = batch
    client.force_login(worker)
    assert 'data-testid="batch-pdf"' in client.get("/warehouse/pick-lists/batch/", {"ids": ids}).content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        asked = client.post("/warehouse/pick-lists/batch/pdf/", {"ids": ids})
    batch_pick_list = BatchPickList.objects.get()
    status_url = f"/warehouse/pick-lists/batch/pdf/{batch_pick_list.pk}/"
    assert asked.status_code == 302 and asked["Location"] == status_url
    assert len(callbacks) == 1
    waiting = client.get(status_url)
    assert waiting.status_code == 202
    assert "being prepared" in waiting.content.decode() and 'hx-trigger="every 2s"' in waiting.content.decode()
    polled = client.get(status_url, headers={"HX-Request": "true"})
    assert polled.status_code == 200 and "<html" not in polled.content.decode()
    file_url = f"{status_url}file/"
    assert client.get(file_url)["Location"] == status_url  # nothing to download yet
    batch_pick_list.refresh_from_db()
    assert batch_pick_list.status == BatchPickListStatus.PREPARING and not batch_pick_list.pdf

    monkeypatch.undo()
    services.batch_pick_list_pdf_render(batch_id=batch_pick_list.pk)  # what the worker does
    ready = client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert file_url in ready and "every 2s" not in ready
    served = client.get(file_url)
    assert served.status_code == 200 and served["Content-Type"] == "application/pdf"
    assert b"".join(served.streaming_content).startswith(b"%PDF")


@pytest.mark.parametrize("role", ["sales", "finance"])
def test_only_the_warehouse_gets_batch_pdfs(client, batch, worker, role):
    _, _, ids = batch
    existing = services.batch_pick_list_pdf_request(pick_list_ids=ids, actor=worker, language="en")
    client.force_login(user_with_role(role))
    assert client.post("/warehouse/pick-lists/batch/pdf/", {"ids": ids}).status_code == 403
    assert client.get(f"/warehouse/pick-lists/batch/pdf/{existing.pk}/").status_code == 403
    assert client.get(f"/warehouse/pick-lists/batch/pdf/{existing.pk}/file/").status_code == 403
    assert BatchPickList.objects.count() == 1
