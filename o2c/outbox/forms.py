import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import WebhookSubscription


class EventTypesField(forms.CharField):
    """Event types typed as text: "order.cancelled, invoice.issued" or "*"; cleaned into a list."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        return [item for item in re.split(r"[\s,]+", text) if item]


class SubscriptionForm(forms.ModelForm):
    event_types = EventTypesField(
        label=_("Event types"),
        help_text=_("Separate with commas, such as order.cancelled, invoice.issued; * for every event."),
    )
    secret = forms.CharField(
        label=_("Signing secret"),
        required=False,
        help_text=_("Leave empty to generate a new one. The receiver checks X-O2C-Signature with it."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "kind", "url", "event_types", "secret", "is_active", "max_attempts"]
        widgets = {"url": forms.URLInput(attrs={"placeholder": "https://"})}
        help_texts = {"url": _("Only for webhooks: where the events are POSTed.")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.initial.pop("secret", None)  # the model default would show a secret before one is needed

    def _post_clean(self):
        # The service validates and saves; skip ModelForm's own instance validation.
        pass
