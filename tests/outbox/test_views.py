"""The integrations pages: who may open them, the forms, the deliveries list and its attempt log, redelivery."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from o2c.common.audit import audit_trail_for
from o2c.common.roles import CAPABILITIES, Role
from o2c.outbox.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookSubscription
from tests.factories import user_with_role
from tests.outbox.factories import DeliveryFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

PAGES = [
    ("get", "/integrations/", "webhook.view"),
    ("get", "/integrations/new/", "webhook.edit"),
    ("get", "/integrations/{subscription}/", "webhook.view"),
    ("get", "/integrations/{subscription}/edit/", "webhook.edit"),
    ("get", "/integrations/deliveries/{delivery}/", "webhook.view"),
    ("post", "/integrations/deliveries/{delivery}/redeliver/", "webhook.edit"),
]


@pytest.fixture
def records():
    delivery = DeliveryFactory(status=DeliveryStatus.FAILED, attempts=8)
    return {"subscription": delivery.subscription_id, "delivery": delivery.pk}


def as_role(client, role):
    client.force_login(user_with_role(role))
    return client


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("method", "path", "capability"), PAGES)
def test_pages_check_the_role(client, records, role, method, path, capability):
    response = getattr(as_role(client, role), method)(path.format(**records))
    if role in CAPABILITIES[capability]:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(("method", "path", "capability"), PAGES)
def test_pages_send_anonymous_users_to_login(client, records, method, path, capability):
    response = getattr(client, method)(path.format(**records))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_menu_shows_integrations_to_finance_not_to_sales(client):
    assert "/integrations/" in as_role(client, "finance").get("/").content.decode()
    assert "/integrations/" not in as_role(client, "sales").get("/").content.decode()


def test_an_admin_adds_a_webhook_through_the_form(client):
    as_role(client, "admin")
    response = client.post(
        "/integrations/new/",
        {
            "name": "Warehouse system",
            "kind": "webhook",
            "url": "https://wms.example.com/o2c",
            "event_types": "order.confirmed, order.cancelled",
            "secret": "",
            "is_active": "on",
            "max_attempts": "5",
        },
    )
    subscription = WebhookSubscription.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/integrations/{subscription.pk}/"
    assert subscription.event_types == ["order.confirmed", "order.cancelled"]
    assert (subscription.max_attempts, subscription.is_active) == (5, True)
    page = client.get(response["Location"]).content.decode()
    assert subscription.secret in page  # the admin needs it to configure the receiver
    assert "Created" in page  # the audit trail


def test_a_webhook_without_url_is_refused_on_the_form(client):
    as_role(client, "admin")
    response = client.post(
        "/integrations/new/", {"name": "X", "kind": "webhook", "url": "", "event_types": "*", "max_attempts": "8"}
    )
    assert response.status_code == 400
    assert "A webhook needs the URL to send events to." in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_the_edit_form_shows_the_event_types_as_text(client):
    subscription = SubscriptionFactory(event_types=["order.cancelled", "invoice.issued"])
    page = as_role(client, "admin").get(f"/integrations/{subscription.pk}/edit/").content.decode()
    assert 'value="order.cancelled, invoice.issued"' in page


def test_finance_sees_the_deliveries_but_not_the_secret(client):
    subscription = SubscriptionFactory()
    DeliveryFactory(subscription=subscription, status=DeliveryStatus.FAILED, last_error="HTTP 500 boom")
    page = as_role(client, "finance").get(f"/integrations/{subscription.pk}/").content.decode()
    assert "HTTP 500 boom" in page
    assert subscription.secret not in page
    assert "Redeliver" not in page


def test_the_deliveries_list_filters_by_status_and_pages(client):
    subscription = SubscriptionFactory()
    DeliveryFactory.create_batch(25, subscription=subscription)
    DeliveryFactory.create_batch(5, subscription=subscription, status=DeliveryStatus.FAILED)
    DeliveryFactory()  # another subscriber's
    as_role(client, "manager")
    url = f"/integrations/{subscription.pk}/"

    everything = client.get(url).context
    assert everything["page_obj"].paginator.count == 30
    assert len(everything["rows"]) == 25
    assert len(client.get(url, {"page": 2}).context["rows"]) == 5
    failed = client.get(url, {"status": "failed"}).context
    assert failed["page_obj"].paginator.count == 5
    assert {d.status for d in failed["rows"]} == {DeliveryStatus.FAILED}


def test_a_delivery_page_shows_its_attempt_log(client):
    delivery = DeliveryFactory(status=DeliveryStatus.FAILED, attempts=2)
    DeliveryAttempt.objects.create(delivery=delivery, status_code=500, error="HTTP 500 Internal Server Error")
    DeliveryAttempt.objects.create(delivery=delivery, error="URLError: timed out", duration_ms=10000)

    response = as_role(client, "finance").get(f"/integrations/deliveries/{delivery.pk}/")

    log = response.content.decode().split('data-testid="attempt-log"')[1]
    assert "HTTP 500 Internal Server Error" in log and "URLError: timed out" in log and "10000 ms" in log
    assert f'"id": {delivery.event_id},' in response.context["body"]


def test_an_admin_redelivers_from_the_deliveries_list(client):
    delivery = DeliveryFactory(status=DeliveryStatus.FAILED, attempts=8)
    as_role(client, "admin")
    back = f"/integrations/{delivery.subscription_id}/?status=failed"

    response = client.post(f"/integrations/deliveries/{delivery.pk}/redeliver/", {"next": back}, follow=True)

    assert response.redirect_chain[-1][0] == back
    assert "Delivery queued to be sent again." in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    assert audit_trail_for(delivery).get().changes == {"status": ["failed", "pending"]}


def test_redelivering_a_pending_delivery_says_why_not(client):
    delivery = DeliveryFactory()
    response = as_role(client, "admin").post(f"/integrations/deliveries/{delivery.pk}/redeliver/", follow=True)
    assert "This delivery is already waiting to be sent." in response.content.decode()


def test_redeliver_refuses_to_send_people_off_site(client):
    delivery = DeliveryFactory(status=DeliveryStatus.FAILED)
    response = as_role(client, "admin").post(
        f"/integrations/deliveries/{delivery.pk}/redeliver/", {"next": "https://evil.example.com/"}
    )
    assert response["Location"] == f"/integrations/deliveries/{delivery.pk}/"


def test_list_pages_query_count_does_not_grow_with_rows(client):
    subscription = SubscriptionFactory()
    delivery = DeliveryFactory(subscription=subscription, status=DeliveryStatus.DELIVERED, delivered_at=timezone.now())
    DeliveryAttempt.objects.create(delivery=delivery, status_code=200)
    as_role(client, "admin")
    counts = []
    for _ in range(2):
        pages = ["/integrations/", f"/integrations/{subscription.pk}/", f"/integrations/deliveries/{delivery.pk}/"]
        with CaptureQueriesContext(connection) as queries:
            for page in pages:
                assert client.get(page).status_code == 200
        counts.append(len(queries))
        SubscriptionFactory.create_batch(10)
        DeliveryFactory.create_batch(20, subscription=subscription, status=DeliveryStatus.FAILED)
        for _ in range(5):
            DeliveryAttempt.objects.create(delivery=delivery, status_code=500, error="HTTP 500")
    assert counts[0] == counts[1]
    assert Delivery.objects.filter(subscription=subscription).count() == 41
