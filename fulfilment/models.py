"""Stock, reservations, the timed pick release, picking, packing, shipping and returns.

Stock is a ledger: every change of a StockItem's on-hand or reserved quantity is written as a
StockMove in the same transaction, and the balance columns are only ever changed with F()
expressions under a row lock, in primary-key order. The database refuses a balance that would
oversell (CheckConstraint reserved <= on_hand).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import Channel, Order, OrderLine, Product

QUANTITY = {"max_digits": 12, "decimal_places": 3}


class Warehouse(models.Model):
    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_warehouse")
        ]
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")

    def __str__(self) -> str:
        return self.name


class StockItem(models.Model):
    """A product's stock in one warehouse: what is on the shelf, and how much of it is promised."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_items")
    bin_location = models.CharField(_("bin"), max_length=20, blank=True)
    on_hand = models.DecimalField(_("on hand"), default=Decimal(0), **QUANTITY)
    reserved = models.DecimalField(_("reserved"), default=Decimal(0), **QUANTITY)

    class Meta:
        ordering = ["warehouse", "bin_location", "product"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "product"], name="stock_item_warehouse_product_uniq"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_non_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_non_negative"),
            # Never oversold: a reservation is always backed by stock on the shelf.
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]
        verbose_name = _("stock item")
        verbose_name_plural = _("stock")

    def __str__(self) -> str:
        return f"{self.product.sku} @ {self.warehouse.code}"

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class StockMoveKind(models.TextChoices):
    RECEIPT = "receipt", _("Goods received")
    COUNT = "count", _("Stock count")
    ADJUSTMENT = "adjustment", _("Adjustment")
    RESERVE = "reserve", _("Reserved for an order")
    UNRESERVE = "unreserve", _("Reservation released")
    SHIPMENT = "shipment", _("Shipped")
    RETURN = "return", _("Returned to stock")
    SCRAP = "scrap", _("Scrapped")


class StockMove(models.Model):
    """One change of a stock balance: append-only (the database refuses UPDATE and DELETE)."""

    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="moves")
    kind = models.CharField(_("kind"), max_length=12, choices=StockMoveKind.choices)
    on_hand_change = models.DecimalField(_("on hand change"), default=Decimal(0), **QUANTITY)
    reserved_change = models.DecimalField(_("reserved change"), default=Decimal(0), **QUANTITY)
    on_hand_after = models.DecimalField(_("on hand after"), **QUANTITY)
    reserved_after = models.DecimalField(_("reserved after"), **QUANTITY)
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["stock_item", "-id"], name="stock_move_item_idx")]
        verbose_name = _("stock move")
        verbose_name_plural = _("stock moves")

    def __str__(self) -> str:
        return f"{self.kind} {self.on_hand_change:+} / {self.reserved_change:+}"


class LineAllocation(models.Model):
    """How much of an order line is reserved from stock, backordered, picked and shipped."""

    order_line = models.OneToOneField(OrderLine, on_delete=models.PROTECT, related_name="allocation")
    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="allocations")
    reserved = models.DecimalField(_("reserved"), default=Decimal(0), **QUANTITY)
    backordered = models.DecimalField(_("backordered"), default=Decimal(0), **QUANTITY)
    shipped = models.DecimalField(_("shipped"), default=Decimal(0), **QUANTITY)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reserved__gte=0) & Q(backordered__gte=0) & Q(shipped__gte=0),
                name="allocation_non_negative",
            ),
        ]
        indexes = [models.Index(fields=["stock_item"], condition=Q(backordered__gt=0), name="allocation_backorder_idx")]

    def __str__(self) -> str:
        return f"{self.order_line}: {self.reserved} reserved, {self.backordered} backordered"


class ReleaseDelay(models.Model):
    """How long a confirmed order from a channel waits before it goes to picking."""

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, unique=True)
    minutes = models.PositiveIntegerField(_("minutes"))

    class Meta:
        ordering = ["channel"]
        verbose_name = _("release delay")
        verbose_name_plural = _("release delays")

    def __str__(self) -> str:
        return f"{self.channel}: {self.minutes} min"


class PickListStatus(models.TextChoices):
    OPEN = "open", _("To pick")
    PICKED = "picked", _("Picked")
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")
    CANCELLED = "cancelled", _("Cancelled")


class PickList(models.Model):
    """What the warehouse is to pick for one release of an order, sorted by bin."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="pick_lists")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=PickListStatus.choices, default=PickListStatus.OPEN)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "id"], name="pick_list_status_idx")]
        verbose_name = _("pick list")
        verbose_name_plural = _("pick lists")

    def __str__(self) -> str:
        return _("Pick list %(id)s") % {"id": self.pk}


class PickListLine(models.Model):
    pick_list = models.ForeignKey(PickList, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="+")
    bin_location = models.CharField(_("bin"), max_length=20, blank=True)
    quantity = models.DecimalField(_("to pick"), **QUANTITY)
    picked = models.DecimalField(_("picked"), default=Decimal(0), **QUANTITY)

    class Meta:
        ordering = ["pick_list", "bin_location", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.description}"
