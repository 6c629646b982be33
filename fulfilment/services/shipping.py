"""Picking, packing, shipping and returns: the warehouse's half of fulfilment.

Every status change goes through one service here that locks its row, checks the transitions map
on the model (PICK_LIST_TRANSITIONS, SHIPMENT_TRANSITIONS, RETURN_TRANSITIONS), saves, writes its
audit entry and its outbox event in one transaction.

Lock order, the same in every service so two of them cannot deadlock: the order, then the pick list
or shipment, then stock rows in primary-key order (fulfilment.services.stock._lock_stock_items), then
allocations. Stock balances change only through StockMoves applied as F() deltas
(fulfilment.services.stock._save_balances); the database refuses a negative balance whatever happens.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from o2c.common import events
from o2c.common.audit import audit_created, audit_record, audit_transition
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditAction
from o2c.common.roles import user_can
from o2c.outbox.services import event_record
from orders import services as order_services
from orders.models import Order, OrderLine, OrderStatus

from ..models import (
    PICK_LIST_TRANSITIONS,
    RETURN_TRANSITIONS,
    SHIPMENT_TRANSITIONS,
    LineAllocation,
    LineCancellation,
    Package,
    PickList,
    PickListLine,
    PickListStatus,
    ReturnAuthorization,
    ReturnLine,
    ReturnStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    StockMoveKind,
)
from ..selectors.shipping import allocations_unlisted
from .stock import _allocate_backorders, _lock_stock_items, _move, _save_balances, warehouse_default

__all__ = [
    "pick_list_pick",
    "pick_list_pack",
    "pick_list_for_backorders",
    "pick_lists_for_backorders",
    "shipment_ship",
    "order_line_cancel_unavailable",
    "return_authorize",
    "return_receive",
]

MAX_PACKAGES = 50


def _require(actor: User | None) -> None:
    if actor is not None and not user_can(actor, "fulfilment.work"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("Your role may not work in the warehouse."))


def _user(actor: User | None) -> User | None:
    return actor if actor is not None and actor.is_authenticated else None


def _lock_order(order_id: int) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("customer", "sales_rep").get(pk=order_id)


def _check(transitions: dict, current: str, target: str, message: str) -> None:
    if target not in transitions[current]:
        raise ApplicationError(code=ErrorCode.INVALID_STATE, message=message)


def _set_status(instance, status: str, *, actor: User | None, via: str, note: str = "", **changes) -> None:
    old = instance.status
    instance.status = status
    for name, value in changes.items():
        setattr(instance, name, value)
    type(instance).objects.filter(pk=instance.pk).update(status=status, **changes)
    audit_transition(instance=instance, field="status", old=old, new=status, actor=actor, via=via, note=note)


def _announce(order: Order, event_type: str, *, actor: User | None, **details) -> None:
    """An outbox event about the order, carrying the order's usual payload plus the step's details."""
    event_record(
        event_type=event_type,
        aggregate_type="order",
        aggregate_id=order.pk,
        payload=order_services.order_event_payload(order, **details),
        actor=actor,
    )


def _shipment_payload(shipment: Shipment, lines: list[ShipmentLine], packages: list[Package]) -> dict:
    return {
        "id": shipment.pk,
        "pick_list_id": shipment.pick_list_id,
        "status": shipment.status,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "ship_date": shipment.ship_date,
        "lines": [
            {"order_line_id": line.order_line_id, "sku": line.order_line.product.sku, "quantity": line.quantity}
            for line in lines
        ],
        "packages": [{"reference": p.reference, "weight_kg": p.weight_kg} for p in packages],
    }


# Picking -----------------------------------------------------------------------------------------


@transaction.atomic
def pick_list_pick(*, pick_list: PickList, picked: dict[int, Decimal], actor: User | None, via: str = "") -> PickList:
    """Record what was taken from the shelves ({pick list line id: quantity}); open -> picked.

    A line may be picked short (the shelf held less than the system thought); what was not picked
    stays reserved and goes on a later pick list. Lines not given keep their picked quantity.
    """
    _require(actor)
    order = _lock_order(pick_list.order_id)
    pick_list = PickList.objects.select_for_update().get(pk=pick_list.pk)
    _check(
        PICK_LIST_TRANSITIONS,
        pick_list.status,
        PickListStatus.PICKED,
        _("Pick list %(id)s is %(status)s; it cannot be picked.")
        % {"id": pick_list.pk, "status": pick_list.get_status_display().lower()},
    )
    lines = {line.pk: line for line in pick_list.lines.select_related("order_line__product")}
    errors: dict[str, list[str]] = {}
    for line_id, quantity in picked.items():
        line = lines.get(int(line_id))
        if line is None:
            errors[f"picked[{line_id}]"] = [_("This line is not on the pick list.")]
            continue
        quantity = Decimal(quantity)
        if quantity < 0 or quantity > line.quantity:
            errors[f"picked[{line_id}]"] = [
                _("Pick between 0 and %(max)s of %(sku)s.")
                % {"max": f"{line.quantity.normalize():f}", "sku": line.order_line.product.sku}
            ]
            continue
        line.picked = quantity
    if errors:
        raise ValidationError(errors)
    if not any(line.picked > 0 for line in lines.values()):
        raise ValidationError({"picked": [_("Nothing is picked yet.")]})
    PickListLine.objects.bulk_update(lines.values(), ["picked"])
    _set_status(pick_list, PickListStatus.PICKED, actor=actor, via=via)
    _announce(
        order,
        "pick_list.picked",
        actor=actor,
        pick_list={
            "id": pick_list.pk,
            "lines": [
                {"order_line_id": line.order_line_id, "quantity": line.quantity, "picked": line.picked}
                for line in lines.values()
            ],
        },
    )
    return pick_list


# Packing -----------------------------------------------------------------------------------------


@transaction.atomic
def pick_list_pack(*, pick_list: PickList, packages: list[Decimal], actor: User | None, via: str = "") -> Shipment:
    """Pack a picked list into packages of these weights (kg): picked -> packed, and its shipment."""
    _require(actor)
    order = _lock_order(pick_list.order_id)
    pick_list = PickList.objects.select_for_update().get(pk=pick_list.pk)
    _check(
        PICK_LIST_TRANSITIONS,
        pick_list.status,
        PickListStatus.PACKED,
        _("Pick list %(id)s is %(status)s; only a picked list can be packed.")
        % {"id": pick_list.pk, "status": pick_list.get_status_display().lower()},
    )
    weights = [Decimal(weight) for weight in packages]
    if not weights:
        raise ValidationError({"packages": [_("Add at least one package.")]})
    if len(weights) > MAX_PACKAGES:
        raise ValidationError({"packages": [_("At most %(n)d packages a shipment.") % {"n": MAX_PACKAGES}]})
    bad = [index for index, weight in enumerate(weights) if not weight.is_finite() or weight <= 0]
    if bad:
        raise ValidationError({f"packages[{index}]": [_("A package weighs more than 0 kg.")] for index in bad})
    picked = [line for line in pick_list.lines.select_related("order_line__product") if line.picked > 0]
    shipment = Shipment.objects.create(order=order, pick_list=pick_list, created_by=_user(actor))
    lines = ShipmentLine.objects.bulk_create(
        [ShipmentLine(shipment=shipment, order_line=line.order_line, quantity=line.picked) for line in picked]
    )
    boxes = Package.objects.bulk_create(
        [
            Package(shipment=shipment, weight_kg=weight, reference=f"{order.number}-{shipment.pk}-{index}")
            for index, weight in enumerate(weights, start=1)
        ]
    )
    _set_status(pick_list, PickListStatus.PACKED, actor=actor, via=via)
    audit_created(instance=shipment, actor=actor, via=via)
    _announce(order, "shipment.packed", actor=actor, shipment=_shipment_payload(shipment, lines, boxes))
    return shipment


# Shipping ----------------------------------------------------------------------------------------


def _order_remaining(order: Order) -> tuple[bool, bool]:
    """(anything shipped, anything left to ship) over the order's stock lines."""
    totals = LineAllocation.objects.filter(order_line__order=order).aggregate(
        shipped=Sum("shipped"), reserved=Sum("reserved"), backordered=Sum("backordered")
    )
    shipped = (totals["shipped"] or 0) > 0
    left = (totals["reserved"] or 0) + (totals["backordered"] or 0) > 0
    return shipped, left


def _order_after_shipping(order: Order, *, actor: User | None, via: str, note: str = "") -> Order:
    """Move the order along: shipped when nothing is left, partially shipped otherwise."""
    _shipped, left = _order_remaining(order)
    if not left:
        return order_services.order_ship(order=order, actor=actor, via=via, note=note)
    if order.status == OrderStatus.RELEASED:
        order = order_services.order_ship_partially(order=order, actor=actor, via=via, note=note)
    pick_list_for_backorders(order=order, actor=actor, via=via)
    return order


@transaction.atomic
def shipment_ship(
    *,
    shipment: Shipment,
    carrier: str,
    tracking_number: str,
    ship_date: datetime.date,
    actor: User | None,
    via: str = "",
) -> Shipment:
    """Hand a packed shipment to the carrier: packed -> shipped, stock leaves the shelf.

    Each line takes its quantity off on-hand and off the reservation (StockMove SHIPMENT) and adds
    it to the line's shipped quantity; then the order is shipped, or partially shipped with the
    rest as a backorder that gets its own pick list when stock for it is reserved.
    """
    _require(actor)
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    errors = {}
    if not carrier:
        errors["carrier"] = [_("Say which carrier takes the shipment.")]
    if not tracking_number:
        errors["tracking_number"] = [_("Enter the carrier's tracking number.")]
    if ship_date is None:
        errors["ship_date"] = [_("Enter the ship date.")]
    if errors:
        raise ValidationError(errors)
    order = _lock_order(shipment.order_id)
    shipment = Shipment.objects.select_for_update().select_related("pick_list").get(pk=shipment.pk)
    _check(
        SHIPMENT_TRANSITIONS,
        shipment.status,
        ShipmentStatus.SHIPPED,
        _("Shipment %(id)s is already shipped.") % {"id": shipment.pk},
    )
    lines = list(shipment.lines.select_related("order_line__product"))
    items = _lock_stock_items(
        product_ids=sorted({line.order_line.product_id for line in lines}), warehouse=shipment.pick_list.warehouse
    )
    allocations = {
        a.order_line_id: a
        for a in LineAllocation.objects.select_for_update()
        .filter(order_line_id__in=[line.order_line_id for line in lines])
        .order_by("pk")
    }
    moves = []
    for line in lines:
        allocation = allocations.get(line.order_line_id)
        item = items[line.order_line.product_id]
        if allocation is None or allocation.reserved < line.quantity or item.on_hand < line.quantity:
            raise ApplicationError(
                code=ErrorCode.CONFLICT,
                message=_("%(sku)s: %(quantity)s are packed but not reserved on the shelf; count the stock.")
                % {"sku": line.order_line.product.sku, "quantity": f"{line.quantity.normalize():f}"},
            )
        moves.append(
            _move(
                item,
                StockMoveKind.SHIPMENT,
                on_hand=-line.quantity,
                reserved=-line.quantity,
                order_line=line.order_line,
                actor=actor,
                reference=f"order {order.number}",
                note=f"{carrier} {tracking_number}",
            )
        )
        LineAllocation.objects.filter(pk=allocation.pk).update(
            shipped=F("shipped") + line.quantity, reserved=F("reserved") - line.quantity
        )
    _save_balances(moves)
    _set_status(
        shipment,
        ShipmentStatus.SHIPPED,
        actor=actor,
        via=via,
        note=f"{carrier} {tracking_number}",
        carrier=carrier[:60],
        tracking_number=tracking_number[:100],
        ship_date=ship_date,
        shipped_at=timezone.now(),
    )
    _set_status(shipment.pick_list, PickListStatus.SHIPPED, actor=actor, via=via)
    _announce(
        order,
        "shipment.shipped",
        actor=actor,
        shipment=_shipment_payload(shipment, lines, list(shipment.packages.all())),
    )
    _order_after_shipping(
        order,
        actor=actor,
        via=via,
        note=_("Shipment %(id)s: %(carrier)s %(tracking)s")
        % {"id": shipment.pk, "carrier": carrier, "tracking": tracking_number},
    )
    return shipment


@transaction.atomic
def pick_list_for_backorders(*, order: Order, actor: User | None = None, via: str = "fulfilment") -> PickList | None:
    """A new pick list for a partially shipped order's reserved stock that no pick list covers yet.

    Called after a shipment leaves part of the order behind, and after stock arrives for it
    (fulfilment.services.stock._allocate_backorders). Returns None when there is nothing new to pick.
    """
    created = pick_lists_for_backorders(order_ids=[order.pk], actor=actor, via=via)
    return created[0] if created else None


def pick_lists_for_backorders(*, order_ids, actor: User | None = None, via: str = "fulfilment") -> list[PickList]:
    """pick_list_for_backorders for many orders; only partially shipped ones get a list.

    Takes no order lock: the caller may hold stock rows (a receipt), and the order lock comes
    before stock everywhere. allocations_unlisted reads in one statement, so two receipts at once
    cannot list the same stock twice.
    """
    if not order_ids:
        return []
    order_ids = list(
        Order.objects.filter(pk__in=list(order_ids), status=OrderStatus.PARTIALLY_SHIPPED).values_list("pk", flat=True)
    )
    if not order_ids:
        return []
    by_order: dict[int, list[LineAllocation]] = defaultdict(list)
    for allocation in allocations_unlisted(order_ids=order_ids):
        if allocation.reserved > allocation.listed:
            by_order[allocation.order_id].append(allocation)
    created = []
    warehouse = warehouse_default()
    for order_id, allocations in by_order.items():
        pick_list = PickList.objects.create(order_id=order_id, warehouse=warehouse)
        PickListLine.objects.bulk_create(
            [
                PickListLine(
                    pick_list=pick_list,
                    order_line_id=a.order_line_id,
                    stock_item=a.stock_item,
                    bin_location=a.stock_item.bin_location,
                    quantity=a.reserved - a.listed,
                )
                for a in allocations
            ]
        )
        audit_created(instance=pick_list, actor=actor, via=via, note=_("Backorder"))
        created.append(pick_list)
    return created


# Cancelling what cannot be had -------------------------------------------------------------------


def _cancel_mail(order: Order, line: OrderLine, quantity: Decimal, reason: str) -> tuple[str, str] | None:
    customer = order.customer
    if not customer.invoice_email:
        return None
    with translation.override(customer.language or "en"):
        subject = _("Order %(number)s: %(description)s cannot be delivered") % {
            "number": order.number,
            "description": line.description,
        }
        body = _(
            "Dear customer,\n\n"
            "we are sorry: %(quantity)s %(unit)s of %(description)s (%(sku)s) on your order %(number)s "
            "cannot be delivered and have been cancelled.\n\nReason: %(reason)s\n\n"
            "You will not be invoiced for them. Everything else on the order is delivered as planned."
        ) % {
            "quantity": f"{quantity.normalize():f}",
            "unit": line.get_unit_display(),
            "description": line.description,
            "sku": line.product.sku,
            "number": order.number,
            "reason": reason,
        }
    return subject, body


@transaction.atomic
def order_line_cancel_unavailable(
    *, order_line: OrderLine, reason: str, actor: User | None, via: str = ""
) -> LineCancellation:
    """Cancel what of a line has not shipped because the stock cannot be had, and tell the customer.

    The line's reservation goes back to stock (the next backorder may take it), its open pick list
    lines go, and the order moves on: shipped if this was all that was left, cancelled if nothing
    of it ever shipped. The customer's invoice address gets an e-mail in their language after commit.
    """
    _require(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the line is cancelled.")]})
    order = _lock_order(order_line.order_id)
    line = OrderLine.objects.select_related("product").get(pk=order_line.pk)
    in_flight = PickListLine.objects.filter(
        order_line=line, pick_list__status__in=[PickListStatus.PICKED, PickListStatus.PACKED], picked__gt=0
    ).exists()
    if in_flight:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("Line %(position)s is picked or packed; ship that first, then cancel the rest.")
            % {"position": line.position},
        )
    allocation = LineAllocation.objects.filter(order_line=line).select_related("stock_item__warehouse").first()
    if allocation is not None:
        item = _lock_stock_items(product_ids=[line.product_id], warehouse=allocation.stock_item.warehouse)[
            line.product_id
        ]
        allocation = LineAllocation.objects.select_for_update().get(pk=allocation.pk)
    if allocation is None or allocation.reserved + allocation.backordered <= 0:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("Line %(position)s has nothing left to ship.") % {"position": line.position},
        )
    shipped, _left = _order_remaining(order)
    others_left = (
        LineAllocation.objects.filter(order_line__order=order)
        .exclude(pk=allocation.pk)
        .filter(Q(reserved__gt=0) | Q(backordered__gt=0))
        .exists()
    )
    cancels_order = not shipped and not others_left
    if cancels_order and not order.is_cancellable:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_(
                "Nothing of order %(number)s has shipped and this is all that is left: that cancels the "
                "order, which is only possible before release."
            )
            % {"number": order.number},
        )
    quantity = allocation.reserved + allocation.backordered
    moves = []
    if allocation.reserved > 0:
        moves.append(
            _move(
                item,
                StockMoveKind.UNRESERVE,
                reserved=-allocation.reserved,
                order_line=line,
                actor=actor,
                reference=f"order {order.number}",
                note=reason,
            )
        )
    LineAllocation.objects.filter(pk=allocation.pk).update(reserved=0, backordered=0)
    _save_balances(moves)
    cancellation = LineCancellation.objects.create(
        order_line=line, quantity=quantity, reason=reason[:200], created_by=_user(actor)
    )
    open_lines = PickListLine.objects.filter(order_line=line, pick_list__status=PickListStatus.OPEN)
    touched_lists = set(open_lines.values_list("pick_list_id", flat=True))
    open_lines.delete()
    for pick_list in PickList.objects.select_for_update().filter(pk__in=touched_lists).order_by("pk"):
        if not pick_list.lines.exists():
            _set_status(pick_list, PickListStatus.CANCELLED, actor=actor, via=via, note=reason)
    audit_record(
        instance=order,
        action=AuditAction.CHANGE,
        changes={f"line {line.position} cancelled": [None, f"{quantity.normalize():f}"]},
        actor=actor,
        via=via,
        note=reason,
    )
    _announce(
        order,
        "order.line_cancelled",
        actor=actor,
        line={"id": line.pk, "position": line.position, "sku": line.product.sku, "quantity": quantity},
        reason=reason,
    )
    _allocate_backorders(item=item, actor=actor)
    if cancels_order:
        # The warehouse may not cancel orders from the order page; this cancel follows from the
        # line's, whose audit entry names the user.
        order_services.order_cancel(order=order, reason=reason, actor=None, via="fulfilment")
    elif shipped and not _order_remaining(order)[1]:
        order_services.order_ship(order=order, actor=actor, via=via, note=reason)
    mail = _cancel_mail(order, line, quantity, reason)
    if mail is not None:
        recipient = order.customer.invoice_email
        transaction.on_commit(lambda: send_mail(mail[0], mail[1], None, [recipient], fail_silently=False))
    return cancellation


# Returns -----------------------------------------------------------------------------------------


@transaction.atomic
def return_authorize(
    *, order: Order, lines: list[tuple[OrderLine, Decimal]], reason: str, actor: User | None, via: str = ""
) -> ReturnAuthorization:
    """Authorise the customer to send shipped goods back (an RMA); at most what shipped, less earlier RMAs."""
    _require(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the goods come back.")]})
    order = _lock_order(order.pk)
    if not lines:
        raise ValidationError({"lines": [_("Choose what comes back.")]})
    shipped = dict(LineAllocation.objects.filter(order_line__order=order).values_list("order_line_id", "shipped"))
    returned = dict(
        ReturnLine.objects.filter(order_line__order=order)
        .values("order_line_id")
        .annotate(total=Sum("quantity"))
        .values_list("order_line_id", "total")
    )
    errors: dict[str, list[str]] = {}
    for index, (line, quantity) in enumerate(lines):
        may = shipped.get(line.pk, Decimal(0)) - returned.get(line.pk, Decimal(0))
        if line.order_id != order.pk:
            errors[f"lines[{index}]"] = [_("This line is not on order %(number)s.") % {"number": order.number}]
        elif quantity <= 0 or quantity > may:
            errors[f"lines[{index}].quantity"] = [
                _("Return between 0 and %(max)s of line %(position)s.")
                % {"max": f"{may.normalize():f}", "position": line.position}
            ]
    if errors:
        raise ValidationError(errors)
    count = ReturnAuthorization.objects.filter(order=order).count()
    rma = ReturnAuthorization.objects.create(
        order=order, number=f"RMA-{order.number}-{count + 1}", reason=reason[:200], created_by=_user(actor)
    )
    return_lines = ReturnLine.objects.bulk_create(
        [ReturnLine(rma=rma, order_line=line, quantity=quantity) for line, quantity in lines]
    )
    audit_created(instance=rma, actor=actor, via=via, note=reason)
    _announce(
        order,
        "return.authorized",
        actor=actor,
        rma={
            "id": rma.pk,
            "number": rma.number,
            "lines": [{"order_line_id": r.order_line_id, "quantity": r.quantity} for r in return_lines],
        },
        reason=reason,
    )
    return rma


@transaction.atomic
def return_receive(
    *,
    rma: ReturnAuthorization,
    lines: list[tuple[ReturnLine, Decimal, Decimal]],
    actor: User | None,
    via: str = "",
) -> ReturnAuthorization:
    """The goods are back: each line's restock quantity goes on the shelf (StockMove RETURN), its scrap
    quantity is recorded (StockMove SCRAP, no change on hand). The RMA is then ready for a credit note."""
    _require(actor)
    order = _lock_order(rma.order_id)
    rma = ReturnAuthorization.objects.select_for_update().get(pk=rma.pk)
    _check(
        RETURN_TRANSITIONS,
        rma.status,
        ReturnStatus.RECEIVED,
        _("Return %(number)s is already received.") % {"number": rma.number},
    )
    own = {line.pk: line for line in rma.lines.select_related("order_line__product")}
    errors: dict[str, list[str]] = {}
    received: list[tuple[ReturnLine, Decimal, Decimal]] = []
    for index, (given, restock, scrap) in enumerate(lines):
        line = own.get(given.pk)
        if line is None:
            errors[f"lines[{index}]"] = [_("This line is not on the return.")]
        elif restock < 0 or scrap < 0 or restock + scrap > line.quantity:
            errors[f"lines[{index}]"] = [
                _("Restock and scrap together between 0 and %(max)s.") % {"max": f"{line.quantity.normalize():f}"}
            ]
        else:
            received.append((line, restock, scrap))
    if not errors and not any(restock + scrap > 0 for _line, restock, scrap in received):
        errors["lines"] = [_("Nothing came back.")]
    if errors:
        raise ValidationError(errors)
    warehouse = warehouse_default()
    items = _lock_stock_items(
        product_ids=sorted({line.order_line.product_id for line, _r, _s in received}), warehouse=warehouse
    )
    now = timezone.now()
    moves = []
    for line, restock, scrap in received:
        item = items[line.order_line.product_id]
        for kind, quantity, on_hand in ((StockMoveKind.RETURN, restock, restock), (StockMoveKind.SCRAP, scrap, 0)):
            if quantity > 0:
                moves.append(
                    _move(
                        item,
                        kind,
                        on_hand=Decimal(on_hand),
                        order_line=line.order_line,
                        actor=actor,
                        reference=rma.number,
                        note=f"{quantity.normalize():f}",
                    )
                )
        ReturnLine.objects.filter(pk=line.pk).update(restock_quantity=restock, scrap_quantity=scrap, received_at=now)
        line.restock_quantity, line.scrap_quantity, line.received_at = restock, scrap, now
    _save_balances(moves)
    _set_status(rma, ReturnStatus.RECEIVED, actor=actor, via=via)
    _announce(
        order,
        "return.received",
        actor=actor,
        rma={
            "id": rma.pk,
            "number": rma.number,
            "ready_for_credit_note": True,
            "lines": [
                {
                    "order_line_id": line.order_line_id,
                    "sku": line.order_line.product.sku,
                    "quantity": line.quantity,
                    "restocked": restock,
                    "scrapped": scrap,
                    "unit_price": line.order_line.unit_price,
                    "discount_percent": line.order_line.discount_percent,
                    "vat_rate": line.order_line.vat_rate,
                }
                for line, restock, scrap in received
            ],
        },
    )
    for item in sorted(items.values(), key=lambda i: i.pk):
        _allocate_backorders(item=item, actor=actor)
    # Invoicing drafts the credit note for what came back (its receiver, in this transaction).
    events.return_received.send(sender=ReturnAuthorization, rma=rma, actor=actor)
    return rma
