import pytest
from django.test import override_settings
from django.utils import timezone

from o2c.common.services import heartbeat_record


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": __import__("django.db").db.connection.vendor}
    assert body["broker"]["ok"] is True
    assert body["broker"]["transport"] == settings.CELERY_BROKER_URL.split("://")[0]


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_does_not_answer(client):
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CELERY_BROKER_TRANSPORT_OPTIONS={}):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["broker"]["ok"] is False
    assert body["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_shows_the_worker_heartbeat(client):
    heartbeat_record(name="worker")
    worker = client.get("/healthz").json()["worker"]
    assert worker["age_seconds"] <= 5
    assert worker["last_seen"][:10] == timezone.now().date().isoformat()
