"""One error shape for the whole API.

Errors always look like
    {"error": {"code": "validation_error", "message": "...", "fields": {"lines[2].sku": ["..."]}}}
with `fields` only on validation errors, keyed by the path of the offending input.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .exceptions import ApplicationError, ErrorCode


class ApiErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors only: messages by the path of the offending input (`lines[0].quantity`).",
    )


class ApiErrorSerializer(serializers.Serializer):
    """The API's one error shape, for the schema (OpenApiResponse(ApiErrorSerializer, ...))."""

    error = ApiErrorDetailSerializer()


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """Turn nested serializer errors into {"lines[2].sku": ["..."]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            key = "non_field_errors" if key in ("__all__", "non_field_errors") and not prefix else key
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                path = f"{prefix}[{key}]"  # DRF reports list items by index: lines[2]
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, path))
    elif isinstance(detail, list):
        messages = []
        for index, item in enumerate(detail):
            if isinstance(item, dict | list) and item:
                flat.update(flatten_errors(item, f"{prefix}[{index}]"))
            elif isinstance(item, str) and item:
                messages.append(str(item))
        if messages:
            flat.setdefault(prefix or "non_field_errors", []).extend(messages)
    elif detail not in (None, ""):
        flat.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return flat


def _error(code: str, message: str, http_status: int, **extra) -> Response:
    return Response({"error": {"code": code, "message": message, **extra}}, status=http_status)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, RequestDataTooBig):
        return _error("request_too_large", str(exc), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)

    if isinstance(exc, ApplicationError):
        set_rollback()
        return _error(exc.code, exc.message, exc.http_status, **exc.extra)

    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        return _error(
            ErrorCode.VALIDATION,
            _("The request has invalid fields; see 'fields'."),
            status.HTTP_400_BAD_REQUEST,
            fields=flatten_errors(exc.detail),
        )

    if isinstance(exc, exceptions.APIException):
        set_rollback()
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        codes = exc.get_codes()
        response = _error(codes if isinstance(codes, str) else exc.default_code, str(exc.detail), exc.status_code)
        for name, value in headers.items():
            response[name] = value
        return response
    return None
