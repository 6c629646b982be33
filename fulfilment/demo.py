"""The demo warehouse: stock with bins (a few products short, so backorders show), and two orders
already released to picking while the rest wait out their release delay."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from orders.models import Order, OrderStatus, Product

from . import services
from .models import StockItem

STOCK = {
    # sku: (quantity received, bin)
    "HP-AIR-8": ("6", "A-01-1"),
    "HP-AIR-12": ("3", "A-01-2"),
    "HP-GEO-10": ("2", "A-02-1"),
    "AC-SPLIT-35": ("12", "A-03-1"),
    "TANK-300": ("4", "B-01-1"),
    "FILTER-STD": ("200", "C-01-1"),
    "PIPE-CU-15": ("500", "C-02-1"),
    "VALVE-3W": ("1", "C-03-2"),  # short: the order for two waits for the rest
    "THERMO-WIFI": ("40", "C-04-1"),
    "HANDBOOK": ("25", "D-01-1"),
    "FIKA-BOX": ("30", "D-02-1"),
}
RELEASED_NOW = ["DEMO-1001", "DEMO-1007"]


@transaction.atomic
def load() -> None:
    if StockItem.objects.filter(on_hand__gt=0).exists():
        return
    for sku, (quantity, bin_location) in STOCK.items():
        product = Product.objects.get(sku=sku)
        services.stock_receive(product=product, quantity=Decimal(quantity), actor=None, reference="Demo opening stock")
        services.stock_count(
            product=product, counted=Decimal(quantity), actor=None, reference="Demo bins", bin_location=bin_location
        )
    now = timezone.now()
    Order.objects.filter(external_reference__in=RELEASED_NOW, status=OrderStatus.AWAITING_RELEASE).update(
        release_earliest=now, release_at=now
    )
    services.orders_release_due(now=now)
