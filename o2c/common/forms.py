from django import forms
from django.core.exceptions import ValidationError

from .exceptions import ApplicationError


def add_service_errors(form: forms.BaseForm, exc: ValidationError | ApplicationError) -> None:
    """Show a service's refusal on the form: field errors on their fields, the rest at the top."""
    if isinstance(exc, ApplicationError):
        form.add_error(None, exc.message)
        for field, messages in (exc.extra.get("fields") or {}).items():
            form.add_error(field if field in form.fields else None, messages)
        return
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            prefix = "" if target or field == "__all__" else f"{field}: "
            form.add_error(target, [prefix + message for message in errors])
    else:
        form.add_error(None, exc.messages)
