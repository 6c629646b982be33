"""Peppol BIS Billing 3.0 UBL for invoices and credit notes (being written; see issue 6)."""

from .models import Invoice


def invoice_ubl(invoice: Invoice) -> str:
    """The UBL 2.1 document for an issued invoice or credit note. Being written: empty until then."""
    return ""
