"""Who sells and who buys, frozen into the invoice (Invoice.seller / Invoice.buyer JSON).

An issued invoice must keep saying what it said when it went out, even after the company moves or
the customer changes name; the PDF, the UBL and the API all read these snapshots, never the live rows.
"""

from orders.models import Company, Customer


def seller_snapshot(company: Company) -> dict:
    return {
        "name": company.legal_name,
        "org_number": company.org_number,
        "vat_number": company.vat_number,
        "street": company.street,
        "postal_code": company.postal_code,
        "city": company.city,
        "country": company.country,
        "email": company.email,
        "phone": company.phone,
        "website": company.website,
        "f_skatt": company.f_skatt,
        "peppol_id": company.peppol_participant_id,
        "payment_reference_scheme": company.payment_reference_scheme,
        "base_currency": company.base_currency,
        "bank_accounts": [
            {"kind": a.kind, "number": a.number, "bic": a.bic, "bank_name": a.bank_name}
            for a in company.bank_accounts.filter(show_on_invoice=True).order_by("kind", "id")
        ],
    }


def buyer_snapshot(customer: Customer) -> dict:
    return {
        "number": customer.number,
        "name": customer.name,
        "org_number": customer.org_number,
        "vat_number": customer.vat_number,
        "street": customer.billing_street,
        "postal_code": customer.billing_postal_code,
        "city": customer.billing_city,
        "country": customer.country,
        "email": customer.invoice_email,
        "peppol_endpoint": customer.peppol_endpoint,
        "delivery": {
            "name": customer.delivery_name or customer.name,
            "street": customer.delivery_street or customer.billing_street,
            "postal_code": customer.delivery_postal_code or customer.billing_postal_code,
            "city": customer.delivery_city or customer.billing_city,
            "country": customer.delivery_country or customer.country,
        },
    }
