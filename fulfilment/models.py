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

    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="moves", db_index=False)
    kind = models.CharField(_("kind"), max_length=12, choices=StockMoveKind.choices)
    on_hand_change = models.DecimalField(_("on hand change"), default=Decimal(0), **QUANTITY)
    reserved_change = models.DecimalField(_("reserved change"), default=Decimal(0), **QUANTITY)
    on_hand_after = models.DecimalField(_("on hand after"), **QUANTITY)
    reserved_after = models.DecimalField(_("reserved after"), **QUANTITY)
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # No database constraint: its check locked the acting user's row from every transaction.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_constraint=False
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
    # The printable PDF, rendered by a worker on first request (fulfilment.tasks.render_pick_list_pdf).
    pdf = models.FileField(_("PDF"), upload_to="pick-lists/%Y/%m/", blank=True, db_default="")
    pdf_rendered_at = models.DateTimeField(_("PDF rendered at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "id"], name="pick_list_status_idx")]
        verbose_name = _("pick list")
        verbose_name_plural = _("pick lists")

    def __str__(self) -> str:
        return _("Pick list %(id)s") % {"id": self.pk}


class BatchPickListStatus(models.TextChoices):
    PREPARING = "preparing", _("Being prepared")
    READY = "ready", _("Ready")


# A batch PDF is prepared, then ready; a ready one whose file was lost from storage is prepared again.
BATCH_PICK_LIST_TRANSITIONS: dict[BatchPickListStatus, frozenset[BatchPickListStatus]] = {
    BatchPickListStatus.PREPARING: frozenset({BatchPickListStatus.READY}),
    BatchPickListStatus.READY: frozenset({BatchPickListStatus.PREPARING}),
}


class BatchPickList(models.Model):
    """The printable PDF of several open pick lists walked as one route, rendered by a worker.

    One row per set of pick lists (`key`), so asking again for the same batch reuses it.
    """

    key = models.CharField(_("key"), max_length=64, unique=True)  # sha256 of the sorted pick list ids
    pick_list_ids = models.JSONField(_("pick lists"))
    language = models.CharField(_("language"), max_length=10)
    status = models.CharField(
        _("status"), max_length=10, choices=BatchPickListStatus.choices, default=BatchPickListStatus.PREPARING
    )
    pdf = models.FileField(_("PDF"), upload_to="pick-lists/batches/%Y/%m/", blank=True, db_default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # When a worker was last asked to render it: a render whose message was lost is asked for again.
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    rendered_at = models.DateTimeField(_("PDF rendered at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # A ready batch always has its file and the time it was rendered.
            models.CheckConstraint(
                condition=Q(status="preparing") | (Q(status="ready", rendered_at__isnull=False) & ~Q(pdf="")),
                name="batch_pick_list_ready_has_pdf",
            ),
        ]
        verbose_name = _("batch pick list")
        verbose_name_plural = _("batch pick lists")

    def __str__(self) -> str:
        return _("Batch pick %(id)s") % {"id": self.pk}


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


# Picking, packing, shipping and returns ------------------------------------------------------------

P_ = PickListStatus
# A pick list goes open -> picked -> packed -> shipped; only an open list can be cancelled (its
# line's stock was cancelled before anyone picked it).
PICK_LIST_TRANSITIONS: dict[PickListStatus, frozenset[PickListStatus]] = {
    P_.OPEN: frozenset({P_.PICKED, P_.CANCELLED}),
    P_.PICKED: frozenset({P_.PACKED}),
    P_.PACKED: frozenset({P_.SHIPPED}),
    P_.SHIPPED: frozenset(),
    P_.CANCELLED: frozenset(),
}
ACTIVE_PICK_LIST_STATUSES = (P_.OPEN, P_.PICKED, P_.PACKED)


class ShipmentStatus(models.TextChoices):
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")


SHIPMENT_TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    ShipmentStatus.PACKED: frozenset({ShipmentStatus.SHIPPED}),
    ShipmentStatus.SHIPPED: frozenset(),
}


class Shipment(models.Model):
    """What leaves the warehouse for one order at once: the packed goods of one pick list."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("order"))
    pick_list = models.OneToOneField(PickList, on_delete=models.PROTECT, related_name="shipment")
    carrier = models.CharField(_("carrier"), max_length=60, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    ship_date = models.DateField(_("ship date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ShipmentStatus.choices, default=ShipmentStatus.PACKED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("packed at"), default=timezone.now)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # A shipped shipment always says how and when it went.
            models.CheckConstraint(
                condition=Q(status="packed")
                | (
                    Q(status="shipped", ship_date__isnull=False, shipped_at__isnull=False)
                    & ~Q(carrier="")
                    & ~Q(tracking_number="")
                ),
                name="shipment_shipped_has_tracking",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-id"], name="shipment_status_idx"),
            models.Index(fields=["ship_date"], name="shipment_ship_date_idx"),
        ]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")

    def __str__(self) -> str:
        return _("Shipment %(id)s") % {"id": self.pk}


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="shipment_lines")
    quantity = models.DecimalField(_("quantity"), **QUANTITY)

    class Meta:
        ordering = ["shipment", "order_line__position"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_quantity_positive"),
            models.UniqueConstraint(fields=["shipment", "order_line"], name="shipment_line_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.description}"


class Package(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="packages")
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=9, decimal_places=3)
    reference = models.CharField(_("reference"), max_length=40)

    class Meta:
        ordering = ["shipment", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(weight_kg__gt=0), name="package_weight_positive"),
            models.UniqueConstraint(fields=["reference"], name="package_reference_uniq"),
        ]
        verbose_name = _("package")
        verbose_name_plural = _("packages")

    def __str__(self) -> str:
        return self.reference


class LineCancellation(models.Model):
    """The part of an order line that will never ship (stock could not be had), and why."""

    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="cancellations")
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("cancelled at"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_cancellation_quantity_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="line_cancellation_has_reason"),
        ]
        verbose_name = _("line cancellation")
        verbose_name_plural = _("line cancellations")

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.description}"


class ReturnStatus(models.TextChoices):
    OPEN = "open", _("Authorised")
    RECEIVED = "received", _("Received")
    CLOSED = "closed", _("Closed")


RETURN_TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    ReturnStatus.OPEN: frozenset({ReturnStatus.RECEIVED}),
    ReturnStatus.RECEIVED: frozenset({ReturnStatus.CLOSED}),
    ReturnStatus.CLOSED: frozenset(),
}


class ReturnAuthorization(models.Model):
    """An RMA: the customer may send these shipped goods back."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns", verbose_name=_("order"))
    number = models.CharField(_("RMA number"), max_length=30, unique=True)
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=ReturnStatus.choices, default=ReturnStatus.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="return_has_reason")]
        verbose_name = _("return authorisation")
        verbose_name_plural = _("return authorisations")

    def __str__(self) -> str:
        return _("Return %(number)s") % {"number": self.number}


class ReturnLine(models.Model):
    rma = models.ForeignKey(ReturnAuthorization, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    restock_quantity = models.DecimalField(_("back to stock"), default=Decimal(0), **QUANTITY)
    scrap_quantity = models.DecimalField(_("scrapped"), default=Decimal(0), **QUANTITY)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    class Meta:
        ordering = ["rma", "order_line__position"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(restock_quantity__gte=0) & Q(scrap_quantity__gte=0), name="return_line_non_negative"
            ),
            # What came back is restocked or scrapped, never more than was authorised.
            models.CheckConstraint(
                condition=Q(restock_quantity__lte=F("quantity") - F("scrap_quantity")),
                name="return_line_within_quantity",
            ),
            models.UniqueConstraint(fields=["rma", "order_line"], name="return_line_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.description}"
