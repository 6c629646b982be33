from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _


class ApiBodySizeLimitMiddleware:
    """Refuse API request bodies over O2C_API_MAX_BODY_BYTES with 413 before reading them, and
    chunked bodies without a Content-Length with 411.

    WSGI servers hand the app a chunked body as an empty one (uWSGI's HTTP socket and Django's
    runserver do), which would reach the view as "customer: this field is required": say what
    is wrong instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.O2C_API_MAX_BODY_BYTES
        if request.path.startswith("/api/"):
            meta = request.META
            if not meta.get("CONTENT_LENGTH") and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
                return JsonResponse(
                    {
                        "error": {
                            "code": "length_required",
                            "message": _(
                                "The request body was sent in chunks (Transfer-Encoding: chunked); send it "
                                "with a Content-Length header instead."
                            ),
                        }
                    },
                    status=411,
                )
            try:
                length = int(meta.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return JsonResponse(
                    {
                        "error": {
                            "code": "request_too_large",
                            "message": _("The request body is %(size)d bytes; the limit is %(limit)d.")
                            % {"size": length, "limit": limit},
                        }
                    },
                    status=413,
                )
        return self.get_response(request)


class IdempotentReplayMiddleware:
    """Answer a retried API POST (same Idempotency-Key, same body) from its stored response at once.

    Web shops retry in bursts; a retry needs none of what the rest of the stack does (sessions,
    language, URL routing, DRF), only the checks of `replay_early`: a valid token, the endpoint's
    capability, the same key and body. It sits right after SecurityMiddleware, so a replay gets the
    same security headers as the first answer. Anything it cannot answer goes on as usual, and the
    view's `idempotent()` reuses its key lookup.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.capabilities = dict(getattr(settings, "O2C_REPLAYABLE_POSTS", {}))

    def __call__(self, request):
        if request.method == "POST" and "HTTP_IDEMPOTENCY_KEY" in request.META:
            capability = self.capabilities.get(request.path_info)
            if capability is not None:
                from .idempotency import replay_early

                response = replay_early(request, capability=capability)
                if response is not None:
                    response["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY")
                    return response
        return self.get_response(request)
