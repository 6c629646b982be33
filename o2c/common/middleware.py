from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _


class ApiBodySizeLimitMiddleware:
    """Refuse API request bodies over O2C_API_MAX_BODY_BYTES with 413 before reading them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.O2C_API_MAX_BODY_BYTES
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
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
