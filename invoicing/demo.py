"""The demo company's invoicing: orders shipped and invoiced in every state a newcomer should see.

A draft waiting for the second finance user's approval (log in as finance2 to approve it), an
approved one waiting to be issued, issued and sent invoices with their PDFs (rendered by the
worker), a Norwegian invoice in NOK, a credit note for a damaged item, and the service order's
invoice. Exchange rates for the last fortnight make foreign-currency invoices issuable.
"""

import datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from fulfilment import services as fulfilment_services
from fulfilment.services import shipping
from orders import services as order_services
from orders.models import Customer, Order, OrderStatus
from orders.services import LineInput

from . import services
from .models import ExchangeRate, Invoice

# (external reference, customer, [(sku, quantity[, unit price in a foreign currency])], what finance has done)
SHIPPED_ORDERS = [
    ("DEMO-2001", "10001", [("THERMO-WIFI", "1"), ("FILTER-STD", "2"), ("HANDBOOK", "1")], "awaiting_approval"),
    ("DEMO-2002", "10003", [("TANK-300", "1"), ("PIPE-CU-15", "10")], "sent"),
    ("DEMO-2003", "10004", [("THERMO-WIFI", "2"), ("FILTER-STD", "4")], "credited"),
    ("DEMO-2004", "10005", [("TANK-300", "1", "16500.00"), ("FILTER-STD", "2", "420.00")], "issued"),
    ("DEMO-2005", "10003", [("FILTER-STD", "1")], "approved"),
]
# Sample daily rates (SEK per unit), close to the Riksbank's in 2026.
RATES = {"EUR": Decimal("11.2150"), "NOK": Decimal("0.9890"), "USD": Decimal("10.3520")}


def _ship(order: Order, worker: User) -> None:
    now = timezone.now()
    Order.objects.filter(pk=order.pk, status=OrderStatus.AWAITING_RELEASE).update(release_earliest=now, release_at=now)
    fulfilment_services.orders_release_due(now=now)
    order.refresh_from_db()
    pick_list = order.pick_lists.filter(status="open").first()
    if pick_list is None:
        return
    shipping.pick_list_pick(
        pick_list=pick_list, picked={line.pk: line.quantity for line in pick_list.lines.all()}, actor=worker
    )
    shipment = shipping.pick_list_pack(pick_list=pick_list, packages=[Decimal("8.5")], actor=worker)
    shipping.shipment_ship(
        shipment=shipment,
        carrier="PostNord",
        tracking_number=f"JJSE{order.number:010d}",
        ship_date=timezone.localdate(),
        actor=worker,
    )


@transaction.atomic
def load() -> None:
    if Invoice.objects.exists():
        return
    company = services.company_require()
    settings = services.invoicing_settings_for(company)
    settings.round_to_whole_units = True
    settings.auto_approve_below = Decimal("1500.00")
    settings.second_approval_from = Decimal("100000.00")
    settings.footer = "Nordvärme Demo AB · Styrelsens säte: Stockholm"
    settings.save()
    today = timezone.localdate()
    ExchangeRate.objects.bulk_create(
        [
            ExchangeRate(
                currency=currency,
                base_currency=company.base_currency,
                date=today - datetime.timedelta(days=days),
                rate=rate + Decimal(days) / Decimal(1000),
                source="Demo (Riksbanken-like)",
            )
            for currency, rate in RATES.items()
            if currency != company.base_currency
            for days in range(14)
        ],
        ignore_conflicts=True,
    )
    users = {u.username: u for u in User.objects.filter(username__in=["finance", "finance2", "warehouse"])}
    finance, finance2, worker = users["finance"], users["finance2"], users["warehouse"]
    for reference, customer_number, lines, outcome in SHIPPED_ORDERS:
        customer = Customer.objects.get(number=customer_number)
        order = order_services.order_create(
            customer=customer,
            actor=None,
            via="load_demo",
            channel="b2b_portal",
            external_reference=reference,
            lines=[
                LineInput(sku=sku, quantity=Decimal(q), unit_price=Decimal(price[0]) if price else None)
                for sku, q, *price in lines
            ],
        )
        _ship(order, worker)
        shipment = order.shipments.filter(status="shipped").first()
        if shipment is None:
            continue
        invoice = services.invoice_draft_from_shipments(shipment_ids=[shipment.pk], actor=finance, via="load_demo")
        if outcome == "awaiting_approval":
            continue
        if invoice.status == "draft":
            services.invoice_approve(invoice=invoice, actor=finance2, via="load_demo", note="Stämmer med ordern")
        if outcome == "approved":
            continue
        invoice = services.invoice_issue(invoice=invoice, actor=finance2, via="load_demo")
        if outcome in ("sent", "credited"):
            recipient = customer.invoice_email or f"faktura@kund{customer.number}.example"
            services.invoice_send(invoice=invoice, actor=finance2, via="load_demo", recipient=recipient)
        if outcome == "credited":
            line = invoice.lines.order_by("position").first()
            services.credit_note_create(
                invoice=invoice,
                reason="Termostat skadad vid leverans",
                actor=finance,
                lines=[(line, Decimal(1))],
                via="load_demo",
            )
    service_order = Order.objects.filter(external_reference="DEMO-1007").first()
    if service_order is not None and service_order.status != OrderStatus.CANCELLED:
        services.invoice_draft_for_services(order=service_order, actor=finance, via="load_demo")
