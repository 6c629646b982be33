"""Invoicing's writes. Import from here: `from invoicing import services`."""

from ..selectors import billing_groups
from .approval import approvals_required_for, invoice_approve, invoice_reopen
from .credit_notes import credit_note_create, credit_notes_for_return
from .drafting import (
    ManualLine,
    company_require,
    invoice_allowance_charge_add,
    invoice_discard,
    invoice_draft_for_services,
    invoice_draft_from_shipments,
    invoice_draft_manual,
    invoice_line_add,
    invoice_line_remove,
    invoice_line_update,
    invoice_recalculate,
    invoice_totals,
    invoicing_settings_for,
    totals_compute,
)
from .fx import exchange_rate_on, exchange_rate_require, exchange_rates_import_csv
from .issuing import invoice_event_payload, invoice_issue, invoice_mark_sent
from .numbering import number_take, series_format
from .runs import invoice_run_execute, invoice_run_start
from .sending import invoice_send, invoice_send_deliver
from .settings import channel_auto_approval_set, invoicing_settings_update

__all__ = [
    "ManualLine",
    "approvals_required_for",
    "billing_groups",
    "channel_auto_approval_set",
    "company_require",
    "credit_note_create",
    "credit_notes_for_return",
    "exchange_rate_on",
    "exchange_rate_require",
    "exchange_rates_import_csv",
    "invoice_allowance_charge_add",
    "invoice_approve",
    "invoice_discard",
    "invoice_draft_for_services",
    "invoice_draft_from_shipments",
    "invoice_draft_manual",
    "invoice_event_payload",
    "invoice_issue",
    "invoice_line_add",
    "invoice_line_remove",
    "invoice_line_update",
    "invoice_mark_sent",
    "invoice_recalculate",
    "invoice_reopen",
    "invoice_run_execute",
    "invoice_run_start",
    "invoice_send",
    "invoice_send_deliver",
    "invoice_totals",
    "invoicing_settings_for",
    "invoicing_settings_update",
    "number_take",
    "series_format",
    "totals_compute",
]
