"""Idempotency-Key for API writes, with the semantics Stripe documents.

- The first response to a key is stored; a retry with the same key and the same request gets the
  same status and body (header `Idempotent-Replayed: true`) and creates nothing.
- The same key with a different request is refused with 422.
- Keys are scoped to the API client (the authenticated user) and expire after 24 hours.
- Only completed requests are stored: a request that failed validation stores nothing, so the
  client can correct it and retry with the same key.

The key row is inserted in the same transaction as the request's effect. A concurrent retry's
insert waits on the unique index until the first request commits (then it replays the stored
response) or rolls back (then it runs the request itself). No lock table, no polling.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .exceptions import ApplicationError, ErrorCode
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)


def request_fingerprint(request) -> str:
    canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
    if stored.request_hash != fingerprint:
        raise ApplicationError(
            code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
            message=_("Idempotency-Key %(key)s was already used with a different request.") % {"key": stored.key},
        )
    response = Response(stored.response_body, status=stored.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


TABLE = IdempotencyKey._meta.db_table


def _claim(request, key: str, fingerprint: str, now) -> int | None:
    """Insert the key row, or take over an expired one; None if the key is taken.

    A concurrent request's uncommitted row makes this wait until that request commits (taken) or
    rolls back (ours). One statement: this runs for every new order.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} AS k (client_id, key, method, path, request_hash, response_status, "
            "response_body, created_at, expires_at) VALUES (%s, %s, %s, %s, %s, 0, '{}', %s, %s) "
            "ON CONFLICT (client_id, key) DO UPDATE SET method = excluded.method, path = excluded.path, "
            "request_hash = excluded.request_hash, response_status = 0, response_body = '{}', "
            "created_at = excluded.created_at, expires_at = excluded.expires_at WHERE k.expires_at <= %s "
            "RETURNING id",
            [request.user.pk, key, request.method, request.path[:255], fingerprint, now, now + TTL, now],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _store(row_id: int, response: Response) -> None:
    body = json.dumps(response.data, cls=DjangoJSONEncoder)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET response_status = %s, response_body = %s WHERE id = %s",
            [response.status_code, body, row_id],
        )


def idempotent(request, handler: Callable[[], Response]) -> Response:
    """Run `handler` at most once per (client, Idempotency-Key); without the header, just run it."""
    key = request.headers.get(HEADER)
    if key is None:
        with transaction.atomic():
            return handler()
    if not 1 <= len(key) <= 255:
        raise ValidationError({HEADER: [_("An Idempotency-Key has 1 to 255 characters.")]})
    fingerprint = request_fingerprint(request)
    now = timezone.now()
    # Fast path for retries: one indexed read.
    stored = IdempotencyKey.objects.filter(client=request.user, key=key, expires_at__gt=now).first()
    if stored is not None:
        return _replay(stored, fingerprint)
    with transaction.atomic():
        row_id = _claim(request, key, fingerprint, now)
        if row_id is None:
            # A concurrent request with this key committed first: answer as it did.
            return _replay(IdempotencyKey.objects.get(client=request.user, key=key), fingerprint)
        response = handler()
        _store(row_id, response)
        return response


def idempotency_keys_expire(*, now=None) -> int:
    """Delete expired keys (a periodic task); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
