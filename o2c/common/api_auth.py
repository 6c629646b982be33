"""Token authentication for API clients, with a short per-process cache.

An integration sends hundreds of requests a second with the same token; looking the token, its
user and the user's roles up in the database for every one of them was a quarter of the API's
CPU. The cache keeps an answer for O2C_API_TOKEN_CACHE_SECONDS (5 s): a deleted token or a
deactivated user stops working within that time, not at once (docs/architecture.md, "API").
"""

import threading
import time

from django.conf import settings
from rest_framework import HTTP_HEADER_ENCODING
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .roles import user_roles

MAX_CACHED_TOKENS = 10_000


class CachedTokenAuthentication(TokenAuthentication):
    _cache: dict[str, tuple[float, object, object]] = {}
    _lock = threading.Lock()

    def authenticate_credentials(self, key):
        ttl = getattr(settings, "O2C_API_TOKEN_CACHE_SECONDS", 5)
        now = time.monotonic()
        hit = self._cache.get(key)
        if ttl and hit is not None and hit[0] > now:
            return hit[1], hit[2]
        user, token = super().authenticate_credentials(key)
        user_roles(user)  # resolved once, kept on the cached user
        if ttl:
            with self._lock:
                if len(self._cache) >= MAX_CACHED_TOKENS:
                    self._cache.clear()
                self._cache[key] = (now + ttl, user, token)
        return user, token


def token_user(request):
    """The active user of a request's `Authorization: Token <key>`, as the API authenticates it; else None.

    For paths that answer before DRF (o2c/common/idempotency.py `replay_early`): a request this
    cannot authenticate goes on to DRF, which answers it as always (401, session auth, ...).
    """
    # META, as DRF's get_authorization_header reads it but without building request.headers (a
    # sixth of a replay's CPU in Django).
    header = request.META.get("HTTP_AUTHORIZATION", "")
    auth = (header.encode(HTTP_HEADER_ENCODING) if isinstance(header, str) else header).split()
    if len(auth) != 2 or auth[0].lower() != CachedTokenAuthentication.keyword.lower().encode():
        return None
    try:
        user, _ = CachedTokenAuthentication().authenticate_credentials(auth[1].decode())
    except (AuthenticationFailed, UnicodeError):
        return None
    return user
