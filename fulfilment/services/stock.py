"""Stock, reservations and the timed pick release.

Locking: stock rows are locked in primary-key order (select_for_update ordered by pk) before
their balances change, so two orders reserving the same products cannot deadlock, and the
balance check and the update happen under the same lock (no read-modify-write races).
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from o2c.common.audit import audit_transition
from o2c.common.db import (
    ReferenceCache,
    bulk_insert,
    chain_execute,
    chain_insert,
    instances_where,
    new_row,
    service_atomic,
)
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.roles import user_can
from orders import services as order_services
from orders.models import Order, OrderLine, OrderStatus, Product
from orders.selectors import order_line_list

from ..models import (
    LineAllocation,
    PickList,
    PickListLine,
    PickListStatus,
    ReleaseDelay,
    StockItem,
    StockMove,
    StockMoveKind,
    Warehouse,
)
from ..selectors.release import (
    orders_due_for_release,
    orders_pickable,
    orders_refused_credit_at_release,
    pickable_among,
    release_delay_for,
)


def warehouse_default() -> Warehouse:
    """The warehouse stock lives in (one today). The migration seeds it; this puts it back if it is gone."""
    warehouse = Warehouse.objects.filter(is_default=True).first()
    if warehouse is None:
        warehouse, _ = Warehouse.objects.get_or_create(
            code="main", defaults={"name": "Main warehouse", "is_default": True}
        )
    return warehouse


_default_warehouse = ReferenceCache(Warehouse)


def _lock_stock_items(*, product_ids, warehouse: Warehouse | None = None) -> dict[int, StockItem]:
    """Get (creating if missing) and lock the stock rows of products, in primary-key order.

    Without a warehouse: the default one (its id cached: an order's reservation reads no
    warehouse row). One statement when the rows exist, which is nearly always.
    """

    def lock(warehouse_id: int | None) -> dict[int, StockItem]:
        if warehouse_id is not None and connection.vendor == "postgresql":
            marks = ", ".join(["%s"] * len(product_ids))
            items = instances_where(
                StockItem,
                f"fulfilment_stockitem.warehouse_id = %s AND fulfilment_stockitem.product_id IN ({marks})",
                [warehouse_id, *product_ids],
                order_by="fulfilment_stockitem.id",
                lock=True,
            )
        else:
            in_warehouse = (
                {"warehouse_id": warehouse_id} if warehouse_id is not None else {"warehouse__is_default": True}
            )
            items = (
                StockItem.objects.select_for_update(of=("self",))
                .filter(product_id__in=product_ids, **in_warehouse)
                .order_by("pk")
            )
        return {item.product_id: item for item in items}

    if warehouse is None and connection.vendor == "postgresql":
        items = lock(_default_warehouse.get("default", lambda: warehouse_default().pk))
    else:
        items = lock(warehouse.pk if warehouse is not None else None)
    missing = [pid for pid in product_ids if pid not in items]
    if not missing:
        return items
    if warehouse is None:
        _default_warehouse.clear()  # the cached default may be stale: read it afresh
        warehouse = warehouse_default()
    StockItem.objects.bulk_create(
        [StockItem(warehouse=warehouse, product_id=pid) for pid in missing], ignore_conflicts=True
    )
    return lock(warehouse.pk)


def _move(
    item: StockItem,
    kind: str,
    *,
    on_hand: Decimal = Decimal(0),
    reserved: Decimal = Decimal(0),
    order_line: OrderLine | None = None,
    actor: User | None = None,
    reference: str = "",
    note: str = "",
) -> StockMove:
    """Apply a change to a locked stock row and return its (unsaved) ledger entry."""
    item.on_hand += on_hand
    item.reserved += reserved
    return new_row(
        StockMove,
        stock_item=item,
        kind=kind,
        on_hand_change=on_hand,
        reserved_change=reserved,
        on_hand_after=item.on_hand,
        reserved_after=item.reserved,
        order_line=order_line,
        actor=actor if actor is not None and actor.is_authenticated else None,
        reference=reference[:100],
        note=note[:200],
    )


def _save_balances(moves: list[StockMove], *, at_chain_end: bool = False) -> None:
    """Write the ledger entries and apply their sums as F() deltas (never absolute values).

    `at_chain_end`: PostgreSQL writes both when the service chain ends, with its other rows, in
    one round trip (the rows are locked until then, and nothing in the chain reads them again).
    """
    if not moves:
        return
    deltas: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for move in moves:
        deltas[move.stock_item.pk][0] += move.on_hand_change
        deltas[move.stock_item.pk][1] += move.reserved_change
    if (len(deltas) > 1 or at_chain_end) and connection.vendor == "postgresql":
        # One UPDATE for all rows (locked already, so its own lock order does not matter).
        table = StockItem._meta.db_table
        values = ", ".join(["(%s::bigint, %s::numeric, %s::numeric)"] * len(deltas))
        update = (
            f"UPDATE {table} AS s SET on_hand = s.on_hand + d.on_hand, reserved = s.reserved + d.reserved "
            f"FROM (VALUES {values}) AS d (id, on_hand, reserved) WHERE s.id = d.id"
        )
        params = [value for pk, (on_hand, reserved) in deltas.items() for value in (pk, on_hand, reserved)]
        if at_chain_end:
            chain_execute(update, params)
            chain_insert(moves)
            return
        with connection.cursor() as cursor:
            cursor.execute(update, params)
    else:
        for pk, (on_hand, reserved) in deltas.items():
            StockItem.objects.filter(pk=pk).update(on_hand=F("on_hand") + on_hand, reserved=F("reserved") + reserved)
    StockMove.objects.bulk_create(moves)


# Reservation -------------------------------------------------------------------------------------


@service_atomic
def order_reserve(*, order: Order, actor: User | None = None) -> list[LineAllocation]:
    """Reserve stock for a confirmed order's goods lines; what is not there is backordered."""
    lines = [line for line in order_line_list(order=order) if line.product.is_stock_tracked]
    if not lines:
        return []
    # A new order not written yet (it is, when its chain ends: see order_create) has no allocations.
    new_order = order._state.adding
    if not new_order:
        already = set(LineAllocation.objects.filter(order_line__in=lines).values_list("order_line_id", flat=True))
        lines = [line for line in lines if line.pk not in already]
        if not lines:
            return []
    # Other orders wait for these rows until this transaction commits: lock them last.
    items = _lock_stock_items(product_ids=sorted({line.product_id for line in lines}))
    allocations, moves = [], []
    for line in lines:
        item = items[line.product_id]
        take = min(line.quantity, max(item.available, Decimal(0)))
        if take > 0:
            moves.append(
                _move(
                    item,
                    StockMoveKind.RESERVE,
                    reserved=take,
                    order_line=line,
                    actor=actor,
                    reference=f"order {order.number}",
                )
            )
        allocations.append(
            new_row(LineAllocation, order_line=line, stock_item=item, reserved=take, backordered=line.quantity - take)
        )
    if new_order:
        _save_balances(moves, at_chain_end=True)
        chain_insert(allocations)
        return allocations
    _save_balances(moves)
    return LineAllocation.objects.bulk_create(allocations)


@service_atomic
def order_withdraw_from_warehouse(*, order: Order, actor: User | None = None, note: str = "") -> None:
    """A cancelled order leaves the warehouse: untouched pick lists are withdrawn, stock is freed.

    Refused once picking has started (a pick list picked, packed or shipped, or a line with a
    picked quantity): the order is then the warehouse's, and the cancel is rolled back.
    """
    pick_lists = list(PickList.objects.select_for_update().filter(order=order).order_by("pk"))
    started = [p for p in pick_lists if p.status not in (PickListStatus.OPEN, PickListStatus.CANCELLED)]
    if started or PickListLine.objects.filter(pick_list__in=pick_lists, picked__gt=0).exists():
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("Picking has started for order %(number)s; it can no longer be cancelled.")
            % {"number": order.number},
        )
    for pick_list in pick_lists:
        if pick_list.status == PickListStatus.OPEN:
            PickList.objects.filter(pk=pick_list.pk).update(status=PickListStatus.CANCELLED)
            audit_transition(
                instance=pick_list,
                field="status",
                old=PickListStatus.OPEN,
                new=PickListStatus.CANCELLED,
                actor=actor,
                via="fulfilment",
                note=note,
            )
    order_unreserve(order=order, actor=actor, note=note)


@service_atomic
def order_unreserve(*, order: Order, actor: User | None = None, note: str = "") -> None:
    """Give a cancelled order's reservations back, then let backorders waiting for them have it."""
    allocations = list(LineAllocation.objects.filter(order_line__order=order).select_related("order_line"))
    if not allocations:
        return
    items = {
        item.pk: item
        for item in StockItem.objects.select_for_update()
        .filter(pk__in={a.stock_item_id for a in allocations})
        .order_by("pk")
    }
    moves = []
    for allocation in allocations:
        if allocation.reserved > 0:
            moves.append(
                _move(
                    items[allocation.stock_item_id],
                    StockMoveKind.UNRESERVE,
                    reserved=-allocation.reserved,
                    order_line=allocation.order_line,
                    actor=actor,
                    reference=f"order {order.number}",
                    note=note,
                )
            )
    LineAllocation.objects.filter(pk__in=[a.pk for a in allocations]).update(reserved=0, backordered=0)
    _save_balances(moves)
    for item in sorted(items.values(), key=lambda i: i.pk):
        _allocate_backorders(item=item, actor=actor)


def _allocate_backorders(*, item: StockItem, actor: User | None) -> None:
    """Hand newly available stock of a locked row to backordered lines, oldest order first."""
    if item.available <= 0:
        return
    waiting = (
        LineAllocation.objects.select_for_update(of=("self",))
        .filter(
            stock_item=item,
            backordered__gt=0,
            order_line__order__status__in=[
                OrderStatus.CONFIRMED,
                OrderStatus.AWAITING_RELEASE,
                OrderStatus.RELEASED,
                OrderStatus.PARTIALLY_SHIPPED,
            ],
        )
        .select_related("order_line__order")
        .order_by("order_line__order__number", "order_line__position")
    )
    moves, touched = [], set()
    for allocation in waiting:
        if item.available <= 0:
            break
        touched.add(allocation.order_line.order_id)
        take = min(allocation.backordered, item.available)
        moves.append(
            _move(
                item,
                StockMoveKind.RESERVE,
                reserved=take,
                order_line=allocation.order_line,
                actor=actor,
                reference=f"order {allocation.order_line.order.number}",
                note=_("Backorder filled"),
            )
        )
        LineAllocation.objects.filter(pk=allocation.pk).update(
            reserved=F("reserved") + take, backordered=F("backordered") - take
        )
    _save_balances(moves)
    _refresh_release_times(touched)
    from .shipping import pick_lists_for_backorders  # imported here: shipping imports this module

    pick_lists_for_backorders(order_ids=touched, actor=actor)


# The channels' release delays, read once per few seconds, not per confirmed order.
_release_delays = ReferenceCache(ReleaseDelay)


def _release_delay(order: Order) -> datetime.timedelta:
    customer = order.customer
    # Everything release_delay_for's answer depends on.
    key = (order.channel, customer.release_delay_minutes, settings.O2C_DEFAULT_RELEASE_DELAY_MINUTES)
    return _release_delays.get(key, lambda: release_delay_for(order=order, customer=customer))


@service_atomic
def order_schedule_release(*, order: Order, actor: User | None = None, now: datetime.datetime | None = None) -> Order:
    """Reserve stock and set the time the order goes to picking (confirmation + the delay)."""
    delay = _release_delay(order)  # before the stock rows are locked
    allocations = order_reserve(order=order, actor=actor)
    earliest = (now or timezone.now()) + delay
    if order._state.adding:  # a new order: its allocations are all in hand
        pickable = pickable_among(
            order_ids=[order.pk],
            allocations=[(order.pk, a.reserved, a.backordered, order.ship_complete) for a in allocations],
        )
    else:
        pickable = orders_pickable(order_ids=[order.pk])
    release_at = earliest if order.pk in pickable else None
    return order_services.order_await_release(
        order=order, release_earliest=earliest, release_at=release_at, actor=None, via="fulfilment"
    )


def _refresh_release_times(order_ids: set[int]) -> None:
    """After stock moved: waiting orders with something to pick get their time, the rest wait."""
    waiting = dict(
        Order.objects.filter(pk__in=order_ids, status=OrderStatus.AWAITING_RELEASE).values_list(
            "pk", "release_earliest"
        )
    )
    if not waiting:
        return
    pickable = orders_pickable(order_ids=list(waiting))
    order_services.orders_release_times_set(
        times={pk: (earliest if pk in pickable else None) for pk, earliest in waiting.items()}
    )


# Stock levels ------------------------------------------------------------------------------------


def _require(actor: User | None, capability: str) -> None:
    if actor is not None and not user_can(actor, capability):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("Your role may not change stock."))


@service_atomic
def stock_receive(
    *,
    product: Product,
    quantity: Decimal,
    actor: User | None,
    reference: str = "",
    note: str = "",
    warehouse: Warehouse | None = None,
) -> StockItem:
    _require(actor, "stock.edit")
    if quantity <= 0:
        raise ValidationError({"quantity": [_("Receive a quantity above 0.")]})
    if not product.is_stock_tracked:
        raise ValidationError({"product": [_("%(sku)s is a service; it has no stock.") % {"sku": product.sku}]})
    item = _lock_stock_items(product_ids=[product.pk], warehouse=warehouse or warehouse_default())[product.pk]
    _save_balances([_move(item, StockMoveKind.RECEIPT, on_hand=quantity, actor=actor, reference=reference, note=note)])
    _allocate_backorders(item=item, actor=actor)
    return item


@service_atomic
def stock_count(
    *,
    product: Product,
    counted: Decimal,
    actor: User | None,
    reference: str = "",
    warehouse: Warehouse | None = None,
    bin_location: str | None = None,
) -> StockItem:
    """Set on-hand to a counted quantity (a stock take, or an external WMS reporting its count).

    A count below what is reserved takes the shortfall back from the newest reservations, which
    become backorders again: stock that is not on the shelf cannot stay promised.
    """
    _require(actor, "stock.edit")
    if counted < 0:
        raise ValidationError({"counted": [_("A count cannot be negative.")]})
    item = _lock_stock_items(product_ids=[product.pk], warehouse=warehouse or warehouse_default())[product.pk]
    moves, touched = [], set()
    shortfall = item.reserved - counted
    if shortfall > 0:
        newest = (
            LineAllocation.objects.select_for_update(of=("self",))
            .filter(stock_item=item, reserved__gt=0)
            .select_related("order_line__order")
            .order_by("-order_line__order__number", "-order_line__position")
        )
        for allocation in newest:
            if shortfall <= 0:
                break
            back = min(allocation.reserved, shortfall)
            shortfall -= back
            touched.add(allocation.order_line.order_id)
            moves.append(
                _move(
                    item,
                    StockMoveKind.UNRESERVE,
                    reserved=-back,
                    order_line=allocation.order_line,
                    actor=actor,
                    reference=reference,
                    note=_("Count below reservations"),
                )
            )
            LineAllocation.objects.filter(pk=allocation.pk).update(
                reserved=F("reserved") - back, backordered=F("backordered") + back
            )
    change = counted - item.on_hand
    if change:
        moves.append(_move(item, StockMoveKind.COUNT, on_hand=change, actor=actor, reference=reference))
    _refresh_release_times(touched)
    if bin_location is not None and bin_location != item.bin_location:
        item.bin_location = bin_location
        StockItem.objects.filter(pk=item.pk).update(bin_location=bin_location)
    _save_balances(moves)
    _allocate_backorders(item=item, actor=actor)
    return item


# The timed pick release --------------------------------------------------------------------------


@service_atomic
def orders_release_due(*, now: datetime.datetime | None = None, batch: int = 1000) -> list[int]:
    """Release one batch of due orders to the warehouse; returns their ids (empty when none are due).

    FOR UPDATE SKIP LOCKED: two sweeps at once take different orders, and an order being cancelled
    right now is skipped (its cancel holds the row lock) and never released after the cancel.
    """
    now = now or timezone.now()
    order_ids = list(
        orders_due_for_release(now=now)
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", flat=True)[:batch]
    )
    if not order_ids:
        return []
    # Credit has the last word: a blocked customer's orders, or orders over the current limit, go to
    # credit hold instead (rare, so one transition each).
    refused = orders_refused_credit_at_release(order_ids=order_ids)
    for order in Order.objects.filter(pk__in=refused).order_by("pk"):
        order_services.order_credit_hold(order=order, reason=refused[order.pk], actor=None, via="release-sweep")
    order_ids = [pk for pk in order_ids if pk not in refused]
    if not order_ids:
        return []
    order_services.order_release_batch(order_ids=order_ids, via="release-sweep")
    _pick_lists_create(order_ids=order_ids, created_at=now)
    return order_ids


def _pick_lists_create(*, order_ids: list[int], created_at: datetime.datetime) -> None:
    """One pick list per released order with its reserved lines, bin by bin: two statements a batch."""
    warehouse = warehouse_default()
    created = bulk_insert(
        PickList,
        ["order_id", "warehouse_id", "status", "created_at"],
        [(order_id, warehouse.pk, PickListStatus.OPEN, created_at) for order_id in order_ids],
        returning="id",
    )
    pick_list_ids = [row[0] for row in created] or list(
        PickList.objects.filter(order_id__in=order_ids, created_at=created_at).values_list("pk", flat=True)
    )
    placeholders = ", ".join(["%s"] * len(pick_list_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO fulfilment_picklistline (pick_list_id, order_line_id, stock_item_id, bin_location,
                                                 quantity, picked)
            SELECT pl.id, a.order_line_id, a.stock_item_id, s.bin_location, a.reserved, 0
            FROM fulfilment_picklist pl
            JOIN orders_orderline l ON l.order_id = pl.order_id
            JOIN fulfilment_lineallocation a ON a.order_line_id = l.id
            JOIN fulfilment_stockitem s ON s.id = a.stock_item_id
            WHERE pl.id IN ({placeholders}) AND a.reserved > 0
            """,
            pick_list_ids,
        )


def orders_release_all_due(
    *, now: datetime.datetime | None = None, batch: int = 1000, time_budget: float = 50.0
) -> int:
    """Release batches until nothing is due or the time budget (under the beat interval) is spent."""
    import time

    started = time.monotonic()
    released = 0
    while time.monotonic() - started < time_budget:
        done = orders_release_due(now=now, batch=batch)
        released += len(done)
        if len(done) < batch:
            break
    return released
