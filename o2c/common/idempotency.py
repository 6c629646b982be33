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
from django.db import IntegrityError, transaction
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
        IdempotencyKey.objects.filter(client=request.user, key=key, expires_at__lte=now).delete()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    client=request.user,
                    key=key,
                    method=request.method,
                    path=request.path[:255],
                    request_hash=fingerprint,
                    response_status=0,
                    response_body={},
                    expires_at=now + TTL,
                )
        except IntegrityError:
            # A concurrent request with this key committed first: answer as it did.
            return _replay(IdempotencyKey.objects.get(client=request.user, key=key), fingerprint)
        response = handler()
        row.response_status = response.status_code
        row.response_body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
        row.save(update_fields=["response_status", "response_body"])
        return response


def idempotency_keys_expire(*, now=None) -> int:
    """Delete expired keys (a periodic task); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
