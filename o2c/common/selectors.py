from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

from .models import AuditEntry, Heartbeat


def database_health() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy; say which
        return {"ok": False, "vendor": connection.vendor, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "vendor": connection.vendor}


def broker_health(*, timeout: float = 2.0) -> dict:
    url = settings.CELERY_BROKER_URL
    transport = url.split("://", 1)[0]
    try:
        with Connection(
            url, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS, connect_timeout=timeout
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "transport": transport, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "transport": transport}


def worker_heartbeat() -> dict:
    beat = Heartbeat.objects.filter(name="worker").first()
    if beat is None:
        return {"last_seen": None}
    return {
        "last_seen": beat.last_seen.isoformat(),
        "age_seconds": int((timezone.now() - beat.last_seen).total_seconds()),
    }


def audit_entry_list():
    return AuditEntry.objects.select_related("actor", "content_type")
