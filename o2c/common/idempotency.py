"""Idempotency-Key for API writes, with the semantics Stripe documents.

- The first response to a key is stored; a retry with the same key and the same request gets the
  same status and body (header `Idempotent-Replayed: true`) and creates nothing.
- The same key with a different request is refused with 422.
- Keys are scoped to the API client (the authenticated user) and expire after 24 hours.
- Only completed requests are stored: a request that failed validation stores nothing, so the
  client can correct it and retry with the same key.

The key row is inserted in the same transaction as the request's effect, at its end. A
concurrent retry's insert waits on the unique index until the first request commits (then it
rolls back and replays the stored response) or rolls back (then its own answer stands). No lock
table, no polling. The price: a retry sent while the first request is still running does the work
once more before it finds the key taken (retries sent after the answer, the usual kind, are
answered by replay_early with one SELECT); in exchange a new order costs one statement for its
key instead of a claim at the start and an update at the end.

A retry is answered before DRF's machinery (`replay_early`, called by IdempotentReplayMiddleware): the
token from the per-process cache, one SELECT of the stored response, and its JSON text sent as
it is. Whatever that path cannot answer (another auth, a body that is not JSON, a key used with
another body) goes the full way, which gives the same answers as before.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .api_auth import token_user
from .db import chain_execute, chain_explain, execute_prepared, integrity_constraint, service_transaction
from .exceptions import ApplicationError, ErrorCode
from .models import IdempotencyKey
from .roles import user_can

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
# What the API answers JSON clients with; the stored text is what a JSON client got.
_JSON = JSONRenderer()
REPLAYED_HEADER = "Idempotent-Replayed"


def _fingerprint(method: str, path: str, data) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def request_fingerprint(request) -> str:
    return _fingerprint(request.method, request.path, request.data)


def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
    if stored.request_hash != fingerprint:
        raise ApplicationError(
            code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
            message=_("Idempotency-Key %(key)s was already used with a different request.") % {"key": stored.key},
        )
    response = Response(json.loads(stored.response_body), status=stored.response_status)
    response[REPLAYED_HEADER] = "true"
    return response


TABLE = IdempotencyKey._meta.db_table
KEY_CONSTRAINT = "idempotency_client_key_uniq"


class _KeyTaken(Exception):
    """Another request with this key stored its answer first."""


def _key_taken(error) -> Exception | None:
    return _KeyTaken() if integrity_constraint(error) == KEY_CONSTRAINT else None


def _store(request, key: str, fingerprint: str, now, response: Response) -> None:
    """Keep the answer with the key, written first among the request's end-of-transaction writes.

    The key row is inserted when the request's work is done, in the same transaction: a
    concurrent request with the same key waits on the unique index there until this one commits
    (then it finds the key taken, rolls back and answers as this one did) or rolls back (then its
    own answer is kept). One statement, in the same round trip as the rest of the order's rows.
    """
    body = _JSON.render(response.data).decode()
    chain_execute(
        f"INSERT INTO {TABLE} (client_id, key, method, path, request_hash, response_status, response_body, "
        "created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [
            request.user.pk,
            key,
            request.method,
            request.path[:255],
            fingerprint,
            response.status_code,
            body,
            now,
            now + TTL,
        ],
        first=True,
    )
    chain_explain(_key_taken)


def replay_early(request: HttpRequest, *, capability: str) -> HttpResponse | None:
    """Answer a retry of a JSON request with a token from its stored response, or None to go the full way.

    The checks are the full path's: a valid token (o2c/common/api_auth.py), the capability the
    view asks for, the same key and the same request. A miss is remembered on the request, so
    idempotent() does not read the key again.
    """
    # META, not request.headers: building the headers mapping was a tenth of a replay's CPU.
    key = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if not key or len(key) > 255 or "json" not in request.content_type:
        return None
    accept = request.META.get("HTTP_ACCEPT", "")
    if accept and (("json" not in accept and "*/*" not in accept) or "indent" in accept):
        # The browsable API, other renderers, and JSON asked for indented (the stored text is
        # compact): DRF negotiates and renders the stored answer as the first one was.
        return None
    user = token_user(request)
    if user is None or not user_can(user, capability):
        return None
    try:
        data = json.loads(request.body)
    except (ValueError, RequestDataTooBig):
        return None  # DRF answers it: 400 or 413
    fingerprint = _fingerprint(request.method, request.path, data)
    now = timezone.now()
    sql = (
        f"SELECT request_hash, response_status, response_body FROM {TABLE} "
        "WHERE client_id = %s AND key = %s AND expires_at > %s"
    )
    with connection.cursor() as cursor:
        execute_prepared(cursor, [(sql, [user.pk, key, now])])
        row = cursor.fetchone()
    if row is None:
        request.o2c_idempotency_miss = (user.pk, key, fingerprint, now)
        return None
    request_hash, status, body = row
    if request_hash != fingerprint:
        return None  # the full path refuses it with 422
    response = HttpResponse(body, status=status, content_type="application/json")
    response[REPLAYED_HEADER] = "true"
    # CommonMiddleware, which sets it on the full path, is not reached; without it the server
    # answers with chunked encoding and the client must parse chunks.
    response["Content-Length"] = str(len(response.content))
    return response


def idempotent(request, handler: Callable[[], Response]) -> Response:
    """Run `handler` at most once per (client, Idempotency-Key); without the header, just run it."""
    key = request.headers.get(HEADER)
    if key is None:
        with service_transaction():
            return handler()
    if not 1 <= len(key) <= 255:
        raise ValidationError({HEADER: [_("An Idempotency-Key has 1 to 255 characters.")]})
    miss = getattr(request._request, "o2c_idempotency_miss", None)
    if miss is not None and miss[:2] == (request.user.pk, key):
        # replay_early read the key a moment ago and found none.
        fingerprint, now = miss[2], miss[3]
    else:
        fingerprint = request_fingerprint(request)
        now = timezone.now()
        # Fast path for retries: one indexed read.
        stored = IdempotencyKey.objects.filter(client=request.user, key=key, expires_at__gt=now).first()
        if stored is not None:
            return _replay(stored, fingerprint)
    for _attempt in range(3):
        try:
            with service_transaction():
                response = handler()
                _store(request, key, fingerprint, now, response)
            return response
        except _KeyTaken:
            # A concurrent request with this key committed first: answer as it did.
            stored = IdempotencyKey.objects.filter(client=request.user, key=key).first()
            if stored is None:
                continue  # deleted as expired meanwhile: run again
            if stored.expires_at <= now:
                # An expired key is free again: take it over.
                IdempotencyKey.objects.filter(pk=stored.pk, expires_at__lte=now).delete()
                continue
            return _replay(stored, fingerprint)
    raise ApplicationError(
        code=ErrorCode.CONFLICT, message=_("Idempotency-Key %(key)s is busy; try again.") % {"key": key}
    )


def idempotency_keys_expire(*, now=None) -> int:
    """Delete expired keys (a periodic task); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
