"""The one way a business rule says no.

Services raise `ApplicationError`; the API's exception handler and the UI's views turn it into a
clear message. Field-level input errors stay Django `ValidationError`s so both layers can point at
the field.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ErrorCode(models.TextChoices):
    NOT_FOUND = "not_found", _("Not found")
    PERMISSION_DENIED = "permission_denied", _("Permission denied")
    INVALID_STATE = "invalid_state", _("Not allowed in the record's current state")
    CONFLICT = "conflict", _("Conflicts with an existing record")
    VALIDATION = "validation_error", _("Invalid input")
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused", _("Idempotency key used with another request")


HTTP_STATUS_BY_CODE = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.INVALID_STATE: 409,
    ErrorCode.CONFLICT: 409,
    ErrorCode.VALIDATION: 400,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
}


class ApplicationError(Exception):
    def __init__(self, *, code: ErrorCode, message: str, extra: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra or {}

    @property
    def http_status(self) -> int:
        return HTTP_STATUS_BY_CODE.get(self.code, 400)
