"""The demo company of `manage.py load_demo`: master data for every later stage to build on.

Each stage adds its part (orders waiting, released, shipped; invoices drafted, issued, paid) in
its own `demo.py`, called by load_demo in flow order. Everything is keyed by a natural key and
created through the services, so a second run changes nothing and the audit trail reads as if a
person had entered it.
"""

from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import transaction

from o2c.common.roles import Role

from . import services
from .models import Company, Customer, CustomerStatus, HoldKind, Order, Product, VatCategory
from .services import LineInput

DEMO_PASSWORD = "o2c-demo"

DEMO_USERS = [
    # username, first, last, roles
    ("sales", "Sara", "Lind", [Role.SALES]),
    ("sales2", "Ola", "Nordmann", [Role.SALES]),
    ("warehouse", "Wilhelm", "Berg", [Role.WAREHOUSE]),
    ("finance", "Fatima", "Holm", [Role.FINANCE]),
    ("finance2", "Erik", "Dahl", [Role.FINANCE]),
    ("manager", "Maria", "Ek", [Role.MANAGER]),
    ("admin", "Anders", "Admin", [Role.ADMIN]),
]

COMPANY = {
    "legal_name": "Nordvärme Demo AB",
    "org_number": "5561234567",
    "vat_number": "SE556123456701",
    "street": "Kungsgatan 12",
    "postal_code": "111 43",
    "city": "Stockholm",
    "country": "SE",
    "base_currency": "SEK",
    "f_skatt": True,
    "email": "info@nordvarme.example",
    "phone": "+46 8 123 456 00",
    "peppol_participant_id": "0007:5561234567",
    "payment_reference_scheme": "ocr",
}

CUSTOMERS = [
    # number, name, country, org, vat, street, postal, city, currency, lang, extra
    (
        "10001",
        "Fjällbacka Bygg AB",
        "SE",
        "5569876542",
        "SE556987654201",
        "Storgatan 1",
        "457 40",
        "Fjällbacka",
        "SEK",
        "sv",
        {
            "credit_limit": Decimal("250000.00"),
            "peppol_endpoint": "0007:5569876542",
            "reminder_fees_agreed": True,
            "invoice_email": "faktura@fjallbackabygg.example",
        },
    ),
    (
        "10002",
        "Villa Solgläntan",
        "SE",
        "",
        "",
        "Björkvägen 4",
        "752 36",
        "Uppsala",
        "SEK",
        "sv",
        {"credit_limit": Decimal("0.00"), "invoice_email": "anna.solglantan@example.se"},
    ),
    (
        "10003",
        "Göteborgs Fastigheter AB",
        "SE",
        "5590123450",
        "SE559012345001",
        "Södra Hamngatan 20",
        "411 14",
        "Göteborg",
        "SEK",
        "sv",
        {
            "credit_limit": Decimal("1000000.00"),
            "payment_terms_days": 30,
            "early_payment_discount_percent": Decimal("2.00"),
            "early_payment_discount_days": 10,
            "reminder_fees_agreed": True,
            "peppol_endpoint": "0007:5590123450",
        },
    ),
    (
        "10004",
        "Malmö VVS Montage AB",
        "SE",
        "5566778899",
        "SE556677889901",
        "Industrigatan 8",
        "212 14",
        "Malmö",
        "SEK",
        "sv",
        {"credit_limit": Decimal("150000.00"), "payment_terms_days": 20},
    ),
    (
        "10005",
        "Bergen Varme AS",
        "NO",
        "912345602",
        "NO912345602MVA",
        "Bryggen 3",
        "5003",
        "Bergen",
        "NOK",
        "nb",
        {"credit_limit": Decimal("300000.00"), "peppol_endpoint": "0192:912345602"},
    ),
    (
        "10006",
        "Oslo Eiendom AS",
        "NO",
        "987654309",
        "NO987654309MVA",
        "Karl Johans gate 5",
        "0154",
        "Oslo",
        "NOK",
        "nb",
        {"credit_limit": Decimal("500000.00")},
    ),
    (
        "10007",
        "Københavns Energi ApS",
        "DK",
        "",
        "",
        "Vesterbrogade 10",
        "1620",
        "København",
        "EUR",
        "en",
        {"credit_limit": Decimal("40000.00")},
    ),
    (
        "10008",
        "Luleå Stugby AB",
        "SE",
        "5564003217",
        "SE556400321701",
        "Storgatan 50",
        "972 31",
        "Luleå",
        "SEK",
        "sv",
        {"credit_limit": Decimal("60000.00"), "reminder_fees_agreed": True},
    ),
]

PRODUCTS = [
    # sku, name, unit, price, vat code, cost, kind, installation
    ("HP-AIR-8", "Luft/vatten-värmepump 8 kW", "C62", "89900.00", "standard", "54000.00", "goods", True),
    ("HP-AIR-12", "Luft/vatten-värmepump 12 kW", "C62", "119900.00", "standard", "73000.00", "goods", True),
    ("HP-GEO-10", "Bergvärmepump 10 kW", "C62", "149900.00", "standard", "92000.00", "goods", True),
    ("AC-SPLIT-35", "Luft/luft-värmepump 3,5 kW", "C62", "24900.00", "standard", "13500.00", "goods", True),
    ("TANK-300", "Varmvattenberedare 300 l", "C62", "18900.00", "standard", "11200.00", "goods", False),
    ("FILTER-STD", "Partikelfilter, standard", "C62", "349.00", "standard", "95.00", "goods", False),
    ("PIPE-CU-15", "Kopparrör 15 mm", "MTR", "89.50", "standard", "41.00", "goods", False),
    ("VALVE-3W", "Trevägsventil DN20", "C62", "1290.00", "standard", "610.00", "goods", False),
    ("THERMO-WIFI", "Wifi-termostat", "C62", "1995.00", "standard", "880.00", "goods", False),
    ("INSTALL-H", "Installation, per timme", "HUR", "850.00", "standard", "520.00", "service", False),
    ("SERVICE-YEAR", "Årlig service värmepump", "C62", "2490.00", "standard", "1100.00", "service", False),
    ("HANDBOOK", "Handbok: Värmepumpar i praktiken", "C62", "295.00", "reduced_culture", "120.00", "goods", False),
    ("FIKA-BOX", "Fikalåda till installationsdagen", "C62", "189.00", "reduced_food", "90.00", "goods", False),
    ("TRAVEL-KM", "Reseersättning, per mil", "C62", "65.00", "standard", "40.00", "service", False),
]


def ensure_users() -> dict[str, User]:
    users = {}
    for username, first, last, roles in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@o2c.example"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            if Role.ADMIN in roles:
                user.is_staff = user.is_superuser = True
            user.save()
            user.groups.set(Group.objects.filter(name__in=[r.value for r in roles]))
        users[username] = user
    return users


DEMO_LOGINS = [
    (username, DEMO_PASSWORD, ", ".join(str(r.label) for r in roles)) for username, _, _, roles in DEMO_USERS
]


@transaction.atomic
def load() -> dict:
    via = "load_demo"
    users = ensure_users()
    company = Company.objects.order_by("pk").first()
    if company is None:
        company = services.company_create(actor=None, via=via, **COMPANY)
        invoice_series = services.number_series_create(
            company=company, actor=None, via=via, code="invoice", name="Fakturor", prefix="", next_number=10001
        )
        credit_series = services.number_series_create(
            company=company, actor=None, via=via, code="credit-note", name="Kreditfakturor", prefix="K", next_number=1
        )
        services.company_update(
            company=company, actor=None, via=via, invoice_series=invoice_series, credit_note_series=credit_series
        )
        services.bank_account_create(company=company, actor=None, via=via, kind="bankgiro", number="5050109")
        services.bank_account_create(
            company=company, actor=None, via=via, kind="iban", number="SE4550000000058398257466", bic="ESSESESS"
        )
    for number, name, country, org, vat, street, postal, city, currency, language, extra in CUSTOMERS:
        if Customer.objects.filter(number=number).exists():
            continue
        services.customer_create(
            actor=None,
            via=via,
            number=number,
            name=name,
            country=country,
            org_number=org,
            vat_number=vat,
            billing_street=street,
            billing_postal_code=postal,
            billing_city=city,
            currency=currency,
            language=language,
            sales_rep=users["sales2" if country == "NO" else "sales"],
            **extra,
        )
    blocked = Customer.objects.get(number="10008")
    if blocked.status != CustomerStatus.BLOCKED:
        services.customer_block(
            customer=blocked, reason="Three invoices more than 60 days overdue", actor=None, via=via
        )
    categories = {c.code: c for c in VatCategory.objects.filter(country=company.country)}
    for sku, name, unit, price, vat_code, cost, kind, installation in PRODUCTS:
        if Product.objects.filter(sku=sku).exists():
            continue
        services.product_create(
            actor=None,
            via=via,
            sku=sku,
            name=name,
            unit=unit,
            unit_price=Decimal(price),
            currency=company.base_currency,
            vat_category=categories[vat_code],
            cost_price=Decimal(cost),
            kind=kind,
            requires_installation=installation,
        )
    _load_orders(users)
    return {"company": company, "users": users}


# (external reference, channel, customer, [(sku, quantity, unit price or None)], what happens after)
DEMO_ORDERS = [
    ("DEMO-1001", "webshop", "10001", [("FILTER-STD", "4", None), ("THERMO-WIFI", "1", None)], "confirm"),
    (
        "DEMO-1002",
        "b2b_portal",
        "10003",
        [("HP-AIR-12", "1", None), ("INSTALL-H", "8", None), ("FIKA-BOX", "2", None)],
        "installer_booked",
    ),
    ("DEMO-1003", "manual", "10002", [("AC-SPLIT-35", "1", None), ("INSTALL-H", "4", None)], "credit_hold"),
    ("DEMO-1004", "marketplace", "10005", [("TANK-300", "1", "16500.00"), ("VALVE-3W", "2", "1150.00")], "confirm"),
    ("DEMO-1005", "webshop", "10004", [("PIPE-CU-15", "25", None), ("VALVE-3W", "2", None)], "cancel"),
    ("DEMO-1006", "manual", "10001", [("HP-GEO-10", "1", None), ("HANDBOOK", "1", None)], "draft"),
    ("DEMO-1007", "api", "10006", [("SERVICE-YEAR", "3", "2200.00")], "confirm"),
    ("DEMO-1008", "webshop", "10003", [("FILTER-STD", "10", None)], "manual_hold"),
]


def _load_orders(users: dict) -> None:
    via = "load_demo"
    for reference, channel, customer_number, lines, outcome in DEMO_ORDERS:
        if Order.objects.filter(channel=channel, external_reference=reference).exists():
            continue
        customer = Customer.objects.get(number=customer_number)
        rep = users["sales2" if customer.country == "NO" else "sales"]
        order = services.order_create(
            customer=customer,
            actor=None,
            via=via,
            channel=channel,
            external_reference=reference,
            sales_rep=rep,
            submit=outcome != "draft",
            lines=[
                LineInput(sku=sku, quantity=Decimal(quantity), unit_price=Decimal(price) if price else None)
                for sku, quantity, price in lines
            ],
        )
        if outcome == "cancel":
            services.order_cancel(order=order, reason="Kunden ångrade sig inom 30 minuter", actor=rep, via=via)
        elif outcome == "installer_booked":
            hold = order.holds.get(kind=HoldKind.INSTALLER_BOOKED)
            services.order_hold_satisfy(hold=hold, note="Installatör Kalle Ek bokad 2026-12-08", actor=rep, via=via)
        elif outcome == "manual_hold":
            services.order_hold_add(order=order, reason="Kunden vill ha leverans efter inventering", actor=rep, via=via)
