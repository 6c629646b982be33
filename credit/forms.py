from django import forms
from django.utils.translation import gettext_lazy as _


class CreditReleaseForm(forms.Form):
    note = forms.CharField(
        label=_("Why is it released?"),
        max_length=200,
        required=False,
        help_text=_("E.g. the customer paid in advance, or a manager approved the exposure."),
    )
