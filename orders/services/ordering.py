"""Orders: creation with pricing and VAT, the state machine's transitions, and holds.

Every transition is one function: it locks the order, checks ORDER_TRANSITIONS, saves the new
status, writes its audit entry and its outbox event in the same transaction, and tells the
stages to its right by a signal (o2c/common/events.py).
"""

import datetime
import functools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from o2c.common import events
from o2c.common.audit import audit_created, audit_record, audit_transition, audit_transitions_bulk
from o2c.common.countries import EU_COUNTRIES
from o2c.common.db import (
    chain_defer,
    chain_explain,
    chain_held,
    chain_hold,
    chain_insert,
    chain_release,
    execute_prepared,
    integrity_constraint,
    new_row,
    service_atomic,
)
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditAction
from o2c.common.money import DocumentTotals, document_totals, line_net_amount, validate_money_precision
from o2c.common.roles import user_can
from o2c.outbox.services import event_record, event_record_many

from ..models import (
    ORDER_TRANSITIONS,
    Channel,
    Company,
    Customer,
    HoldKind,
    Order,
    OrderHold,
    OrderLine,
    OrderStatus,
    Product,
    VatCategory,
)
from ..selectors import (
    company_for_orders,
    customer_and_products_for_order,
    customer_and_products_from_rows,
    customer_and_products_query,
    order_has_open_holds,
    order_with_children,
    products_for_order,
    vat_rates_on,
)

__all__ = [
    "LineInput",
    "MAX_LINES",
    "OrderQuote",
    "order_quote",
    "order_create",
    "order_submit",
    "order_confirm",
    "order_credit_hold",
    "order_await_release",
    "order_release",
    "order_release_batch",
    "orders_release_times_set",
    "order_reschedule_release",
    "order_ship_partially",
    "order_ship",
    "order_invoice",
    "order_invoice_batch",
    "order_close",
    "order_cancel",
    "order_hold_add",
    "order_hold_satisfy",
    "order_event_payload",
    "HOLDABLE",
]

MAX_LINES = 500
QUANTITY_DECIMALS = 3


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: Decimal
    unit_price: Decimal | None = None
    discount_percent: Decimal = Decimal(0)
    description: str = ""


# Creation ----------------------------------------------------------------------------------------


_sequences: dict[str, str] = {}


def _sequence(table: str) -> str:
    name = _sequences.get(table)
    if name is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            name = _sequences[table] = cursor.fetchone()[0]
    return name


# The new order's ids, taken in the statement that reads its customer and products.
_NEW_IDS_CTE = (
    "WITH o2c_ids AS MATERIALIZED (SELECT nextval(%s::regclass) AS o2c_order_id, "
    "nextval('orders_order_number_seq') AS o2c_order_number, "
    "ARRAY(SELECT nextval(%s::regclass) FROM generate_series(1, %s::int)) AS o2c_line_ids) "
)


def _customer_products_and_new_ids(
    customer: Customer | str, skus: set[str], line_count: int
) -> tuple[Customer | None, dict[str, Product], tuple[int, int, list[int]] | None]:
    """PostgreSQL: what customer_and_products_for_order reads and, in the same statement, the new
    order's id and number and its lines' ids, from their sequences: one round trip for both.

    With its ids known, a new order is written once, when its chain of services ends (see
    order_create), instead of inserted and then updated at each transition. The numbers are
    taken even when the order is then refused: gaps are allowed for orders (not for invoices).
    No ids when there is no such customer (the order is refused then).
    """
    number, pk = (None, customer.pk) if isinstance(customer, Customer) else (str(customer), None)
    sql, params, shapes = customer_and_products_query(skus=skus, number=number, pk=pk)
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            [
                (
                    f"{_NEW_IDS_CTE}SELECT q.*, o2c_ids.* FROM ({sql}) AS q CROSS JOIN o2c_ids",
                    [_sequence("orders_order"), _sequence("orders_orderline"), line_count, *params],
                )
            ],
        )
        rows = cursor.fetchall()
    found, products = customer_and_products_from_rows(rows, shapes, skus=skus)
    ids = (rows[0][-3], rows[0][-2], list(rows[0][-1])) if rows else None
    return found, products, ids


def _orders_write(new: list[tuple[Order, list[OrderLine]]]) -> None:
    """The chain's new orders and their lines, as they are at its end: one INSERT each."""
    chain_insert([order for order, _ in new])
    chain_insert([line for _, lines in new for line in lines])


def _next_order_number_sqlite() -> int:
    """SQLite (`make run`) has no sequences; it serialises writers (IMMEDIATE transactions), so
    max + 1 cannot be taken twice. PostgreSQL numbers orders in _customer_products_and_new_ids."""
    return (Order.objects.aggregate(n=Max("number"))["n"] or 1000) + 1


def _order_vat_category(
    *, product: Product, customer: Customer, company: Company | None, categories: dict[str, VatCategory]
) -> VatCategory:
    """The VAT category of a sale: the product's at home; reverse charge, intra-EU or export abroad.

    `categories` (the company's, by code) is filled on the first sale abroad: home sales need none.
    """
    category = product.vat_category
    if company is None or customer.country == company.country or category.uncl5305_code != "S":
        return category
    if company.country == "SE" and customer.country in EU_COUNTRIES:
        if not customer.vat_number:
            return category  # a consumer in the EU pays Swedish VAT (below the OSS threshold)
        code = "intra_eu" if product.is_stock_tracked else "reverse_charge"
    else:
        code = "export"
    if not categories:
        categories.update((c.code, c) for c in VatCategory.objects.filter(country=company.country))
    return categories.get(code, category)


def _decimal(value, errors: dict, path: str) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        errors[path] = [_("Enter a number.")]
        return None
    if not number.is_finite():
        errors[path] = [_("Enter a number.")]
        return None
    return number


def _resolve_customer_and_products(
    customer: Customer | str, skus: set[str], errors: dict, read: tuple | None
) -> tuple[Customer | None, dict[str, Product]]:
    # Read afresh even when given an instance: a block a moment ago must stop this order.
    if read is not None:
        found, products = read
    elif isinstance(customer, Customer):
        found, products = customer_and_products_for_order(pk=customer.pk, skus=skus)
    else:
        found, products = customer_and_products_for_order(number=str(customer), skus=skus)
    if found is None:
        errors["customer"] = [_("No customer with number %(number)s.") % {"number": customer}]
    elif found.is_blocked:
        errors["customer"] = [
            _("Customer %(number)s is blocked: %(reason)s") % {"number": found.number, "reason": found.blocked_reason}
        ]
    return found, products


@dataclass
class OrderQuote:
    """Priced, unsaved order lines: what order_create would save, and the errors that stop it.

    `lines` holds the lines that could be priced and `line_indexes` the input index of each, so a
    screen can show live totals beside the errors of the lines still being typed; order_create
    saves nothing unless `errors` is empty.
    """

    customer: Customer | None
    currency: str
    lines: list[OrderLine]
    line_indexes: list[int]
    totals: DocumentTotals
    errors: dict[str, list[str]]


def order_quote(
    *,
    customer: Customer | str | None,
    lines: list[LineInput],
    actor: User | None,
    currency: str | None = None,
    today: datetime.date | None = None,
    read: tuple[Customer | None, dict[str, Product]] | None = None,
) -> OrderQuote:
    """Price lines for a customer the one way orders are priced; writes nothing.

    order_create saves what this returns, and the order entry screen shows it as live totals, so
    the screen and the saved order cannot disagree. Errors are keyed by input path (`lines[2].sku`).
    `read`: the customer and the products, read a moment ago by the caller in this transaction
    (order_create reads them with the new order's ids).
    """
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    company = company_for_orders()
    lines_error = None
    if not lines:
        lines_error = [_("An order needs at least one line.")]
    elif len(lines) > MAX_LINES:
        lines_error = [
            _("An order has at most %(max)d lines; this one has %(n)d.") % {"max": MAX_LINES, "n": len(lines)}
        ]
        lines = []
    skus = {line.sku for line in lines}
    if customer is None or customer == "":
        errors["customer"] = [_("Choose a customer.")]
        found, products = None, products_for_order(skus=skus)
    else:
        found, products = _resolve_customer_and_products(customer, skus, errors, read)
    order_currency = found.currency if found else (company.base_currency if company else "SEK")
    if found and currency and currency != found.currency:
        errors["currency"] = [
            _("Customer %(number)s is invoiced in %(expected)s, not %(given)s.")
            % {"number": found.number, "expected": found.currency, "given": currency}
        ]
    if lines_error:
        errors["lines"] = lines_error
    # Asked only when a line sets a price: for most users it costs the permission queries.
    may_set_price = actor is None or (
        any(line.unit_price is not None for line in lines) and user_can(actor, "order.override_price")
    )
    categories: dict[str, VatCategory] = {}

    priced: list[tuple[int, Product, VatCategory, LineInput, Decimal, Decimal, Decimal]] = []
    for index, line in enumerate(lines):
        path = f"lines[{index}]"
        product = products.get(line.sku)
        if product is None or not product.is_active:
            errors[f"{path}.sku"] = [_("No active product with SKU %(sku)r.") % {"sku": line.sku}]
        quantity = _decimal(line.quantity, errors, f"{path}.quantity")
        if quantity is not None:
            if quantity <= 0:
                errors[f"{path}.quantity"] = [_("The quantity must be more than 0.")]
                quantity = None
            elif -quantity.normalize().as_tuple().exponent > QUANTITY_DECIMALS:
                errors[f"{path}.quantity"] = [_("A quantity has at most %(n)d decimals.") % {"n": QUANTITY_DECIMALS}]
                quantity = None
        discount = _decimal(line.discount_percent, errors, f"{path}.discount_percent")
        if discount is not None and not Decimal(0) <= discount <= Decimal(100):
            errors[f"{path}.discount_percent"] = [_("A discount is between 0 and 100 %.")]
            discount = None
        unit_price = None
        price_ok = True
        if line.unit_price is not None:
            unit_price = _decimal(line.unit_price, errors, f"{path}.unit_price")
            price_ok = unit_price is not None
            if unit_price is not None and not may_set_price and (product is None or unit_price != product.unit_price):
                errors[f"{path}.unit_price"] = [_("You may not set a price other than the product's.")]
                price_ok = False
            elif unit_price is not None and unit_price < 0:
                errors[f"{path}.unit_price"] = [_("A price cannot be negative.")]
                price_ok = False
            elif unit_price is not None:
                try:
                    validate_money_precision(unit_price, order_currency)
                except ValidationError as exc:
                    errors[f"{path}.unit_price"] = exc.messages
                    price_ok = False
        elif product is not None and product.currency != order_currency:
            errors[f"{path}.unit_price"] = [
                _("%(sku)s is priced in %(product_currency)s; give the unit price in %(currency)s.")
                % {"sku": product.sku, "product_currency": product.currency, "currency": order_currency}
            ]
            price_ok = False
        if product is not None and product.is_active and quantity is not None and discount is not None and price_ok:
            category = (
                _order_vat_category(product=product, customer=found, company=company, categories=categories)
                if found is not None
                else product.vat_category
            )
            price = unit_price if unit_price is not None else product.unit_price
            priced.append((index, product, category, line, quantity, price, discount))

    rates = vat_rates_on(category_ids={entry[2].pk for entry in priced}, on=today) if priced else {}
    order_lines, line_indexes = [], []
    for index, product, category, line, quantity, price, discount in priced:
        if category.pk not in rates:
            errors[f"lines[{index}].sku"] = [
                _("No VAT rate is in force today for category %(code)s.") % {"code": category.code}
            ]
            continue
        line_indexes.append(index)
        order_lines.append(
            new_row(
                OrderLine,
                position=len(order_lines) + 1,
                product=product,
                description=(line.description or product.name)[:200],
                quantity=quantity,
                unit=product.unit,
                unit_price=price,
                discount_percent=discount,
                vat_category=category,
                vat_rate=rates[category.pk],
                net_amount=line_net_amount(
                    quantity=quantity, unit_price=price, discount_percent=discount, currency=order_currency
                ),
            )
        )
    totals = document_totals(
        lines=((ol.vat_category.uncl5305_code, ol.vat_rate, ol.net_amount) for ol in order_lines),
        currency=order_currency,
    )
    return OrderQuote(
        customer=found,
        currency=order_currency,
        lines=order_lines,
        line_indexes=line_indexes,
        totals=totals,
        errors=errors,
    )


@service_atomic
def order_create(
    *,
    customer: Customer | str,
    lines: list[LineInput],
    actor: User | None,
    via: str = "",
    channel: str = Channel.MANUAL,
    external_reference: str = "",
    customer_reference: str = "",
    currency: str | None = None,
    sales_rep: User | None = None,
    requested_delivery_date: datetime.date | None = None,
    note: str = "",
    ship_complete: bool | None = None,
    submit: bool = True,
    today: datetime.date | None = None,
) -> Order:
    """Validate, price (order_quote) and save an order, and submit it unless told to keep it as a draft.

    All input errors are collected and raised together as one ValidationError keyed by the path
    of the offending input (`lines[2].sku`), so a client fixes everything in one round trip.
    Nothing is saved when anything is wrong.
    """
    if actor is not None and not user_can(actor, "order.create"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("You may not enter orders."))
    today = today or timezone.localdate()
    read = ids = None
    if connection.vendor == "postgresql" and customer not in (None, "") and 0 < len(lines) <= MAX_LINES:
        found, products, ids = _customer_products_and_new_ids(customer, {line.sku for line in lines}, len(lines))
        read = (found, products)
    quote = order_quote(customer=customer, lines=lines, actor=actor, currency=currency, today=today, read=read)
    errors = dict(quote.errors)
    if channel not in Channel.values:
        errors["channel"] = [_("Unknown channel %(channel)r.") % {"channel": channel}]
    if requested_delivery_date and requested_delivery_date < today:
        errors["requested_delivery_date"] = [_("The requested delivery date is in the past.")]
    if errors:
        raise ValidationError(errors)
    found, order_lines, totals, order_currency = quote.customer, quote.lines, quote.totals, quote.currency
    order = new_row(
        Order,
        customer=found,
        channel=channel,
        external_reference=external_reference,
        customer_reference=customer_reference,
        currency=order_currency,
        sales_rep=sales_rep or found.sales_rep,
        order_date=today,
        requested_delivery_date=requested_delivery_date,
        note=note,
        ship_complete=found.ship_complete if ship_complete is None else ship_complete,
        net_amount=totals.net_amount,
        vat_amount=totals.vat_amount,
        gross_amount=totals.gross_amount,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    if connection.vendor == "postgresql":
        # Written once, as it is when the chain ends (submitted, confirmed, waiting for release):
        # until then nothing reads it from the table. A repeated external reference is found by
        # the unique index at that INSERT; _reference_taken names the order it belongs to.
        # A valid order has a customer and 1 to MAX_LINES lines: its ids came with them.
        order.pk, order.number, line_ids = ids
        order.created_at = order.updated_at = timezone.now()
        for order_line, line_id in zip(order_lines, line_ids, strict=True):
            order_line.pk = line_id
            order_line.order = order
        chain_defer("orders.new", _orders_write).append((order, order_lines))
        if external_reference:
            chain_explain(functools.partial(_reference_taken, channel=channel, reference=external_reference))
    else:
        order.number = _next_order_number_sqlite()
        _order_insert_now(order)
        for order_line in order_lines:
            order_line.order = order
        OrderLine.objects.bulk_create(order_lines)
    chain_hold(order)  # this transaction made the row: nobody else can lock it or see it
    holds = []
    if any(line.product.requires_installation for line in order_lines):
        holds = OrderHold.objects.bulk_create(
            [
                OrderHold(order=order, kind=HoldKind.INSTALLER_BOOKED, reason=_("Product requires installation")),
                OrderHold(order=order, kind=HoldKind.QUOTE_ACCEPTED, reason=_("Product requires installation")),
            ]
        )
    order_with_children(order, lines=order_lines, holds=holds)
    audit_created(instance=order, actor=actor, via=via)
    event_record(
        event_type="order.created",
        aggregate_type="order",
        aggregate_id=order.pk,
        payload=order_event_payload(order),
        actor=actor,
    )
    if submit:
        order = order_submit(order=order, actor=actor, via=via)
    return order


REFERENCE_CONSTRAINT = "order_channel_external_reference_uniq"


def _order_insert_now(order: Order) -> None:
    """SQLite: insert the order at once; a repeated external reference is answered with 409."""
    if not order.external_reference:
        order.save(force_insert=True)
        return
    try:
        with transaction.atomic():
            order.save(force_insert=True)
    except IntegrityError:
        existing = Order.objects.filter(channel=order.channel, external_reference=order.external_reference).first()
        if existing is not None:
            raise _duplicate_reference(existing) from None
        raise


def _reference_taken(error: IntegrityError, *, channel: str, reference: str) -> ApplicationError | None:
    """An order's INSERT refused for its external reference: 409 naming the order that has it."""
    if integrity_constraint(error) != REFERENCE_CONSTRAINT:
        return None
    existing = Order.objects.filter(channel=channel, external_reference=reference).first()
    return _duplicate_reference(existing) if existing is not None else None


def _duplicate_reference(existing: Order) -> ApplicationError:
    return ApplicationError(
        code=ErrorCode.CONFLICT,
        message=_("Channel %(channel)s already sent order %(reference)s: it is order %(number)s.")
        % {"channel": existing.channel, "reference": existing.external_reference, "number": existing.number},
        extra={"order": {"id": existing.pk, "number": existing.number}},
    )


# What every order event carries: payload key -> the order's field (through customer and rep).
ORDER_PAYLOAD_FIELDS = {
    "id": "pk",
    "number": "number",
    "status": "status",
    "customer_number": "customer__number",
    "customer_name": "customer__name",
    "channel": "channel",
    "external_reference": "external_reference",
    "currency": "currency",
    "net_amount": "net_amount",
    "vat_amount": "vat_amount",
    "gross_amount": "gross_amount",
    "sales_rep_email": "sales_rep__email",
}


_ORDER_PAYLOAD_PATHS = [(key, path.split("__")) for key, path in ORDER_PAYLOAD_FIELDS.items()]


def order_event_payload(order: Order, **extra) -> dict:
    payload = {}
    for key, parts in _ORDER_PAYLOAD_PATHS:
        value = order
        for part in parts:
            value = getattr(value, part, None) if value is not None else None
        payload[key] = value
    payload["sales_rep_email"] = payload["sales_rep_email"] or ""
    return {**payload, **extra}


def _order_event_payloads(order_ids: list[int]) -> list[dict]:
    """order_event_payload for many orders, read as plain values (no model instances) in one query."""
    rows = Order.objects.filter(pk__in=order_ids).values(*ORDER_PAYLOAD_FIELDS.values())
    payloads = []
    for row in rows:
        payload = {key: row[path] for key, path in ORDER_PAYLOAD_FIELDS.items()}
        payload["sales_rep_email"] = payload["sales_rep_email"] or ""
        payloads.append(payload)
    return payloads


# Transitions -------------------------------------------------------------------------------------


def _order_lock(order: Order) -> Order:
    """The order's row locked, read afresh with its customer and rep; once per chain of services.

    Within one chain (order_create -> submit -> credit check -> confirm -> reservation -> waiting
    for release) the order is locked once and every transition changes the same instance.
    """
    held = chain_held(Order, order.pk)
    if held is not None:
        return held
    locked = Order.objects.select_for_update(of=("self",)).select_related("customer", "sales_rep").get(pk=order.pk)
    return chain_hold(locked)


def _order_current(order: Order) -> Order:
    """The order as it is now, after the receivers of a signal changed it."""
    held = chain_held(Order, order.pk)
    if held is not None:
        return held
    order.refresh_from_db()
    return order


def _transition(*, order: Order, to: OrderStatus, actor: User | None, via: str, note: str = "", **changes) -> Order:
    order = _order_lock(order)
    if to not in ORDER_TRANSITIONS[OrderStatus(order.status)]:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("Order %(number)s is %(status)s; it cannot become %(target)s.")
            % {
                "number": order.number,
                "status": order.get_status_display().lower(),
                "target": OrderStatus(to).label.lower(),
            },
        )
    old = order.status
    order.status = to
    for field, value in changes.items():
        setattr(order, field, value)
    if order._state.adding:
        order.updated_at = timezone.now()  # a new order: written once, when its chain ends
    else:
        order.save(update_fields=["status", "updated_at", *changes])
    audit_transition(instance=order, field="status", old=old, new=to, actor=actor, via=via, note=note)
    event_record(
        event_type=f"order.{to}",
        aggregate_type="order",
        aggregate_id=order.pk,
        payload=order_event_payload(order, previous_status=old, reason=note),
        actor=actor,
    )
    return order


@service_atomic
def order_submit(*, order: Order, actor: User | None, via: str = "") -> Order:
    order = _transition(order=order, to=OrderStatus.SUBMITTED, actor=actor, via=via)
    # Credit decides hold or pass (credit/receivers.py) and calls order_confirm or order_credit_hold.
    events.order_submitted.send(sender=Order, order=order, actor=actor, via=via)
    return _order_current(order)


@service_atomic
def order_confirm(*, order: Order, actor: User | None, via: str = "", note: str = "") -> Order:
    order = _transition(order=order, to=OrderStatus.CONFIRMED, actor=actor, via=via, note=note)
    events.order_confirmed.send(sender=Order, order=order, actor=actor, via=via)
    return _order_current(order)


@service_atomic
def order_credit_hold(*, order: Order, reason: str, actor: User | None, via: str = "") -> Order:
    return _transition(order=order, to=OrderStatus.CREDIT_HOLD, actor=actor, via=via, note=reason)


@service_atomic
def order_await_release(
    *,
    order: Order,
    release_earliest: datetime.datetime,
    release_at: datetime.datetime | None,
    actor: User | None,
    via: str = "",
) -> Order:
    """Wait for the pick release: from release_earliest, at release_at (empty: waiting for stock)."""
    return _transition(
        order=order,
        to=OrderStatus.AWAITING_RELEASE,
        actor=actor,
        via=via,
        release_earliest=release_earliest,
        release_at=release_at,
    )


def orders_release_times_set(*, times: dict[int, datetime.datetime | None]) -> None:
    """Fulfilment's answer to stock changes: waiting orders get their release time, or lose it
    while they have nothing to pick. Only waiting orders change; the status never does."""
    for order_id, release_at in times.items():
        Order.objects.filter(pk=order_id, status=OrderStatus.AWAITING_RELEASE).update(release_at=release_at)
    chain_release(Order, times)


@service_atomic
def order_reschedule_release(
    *, order: Order, release_at: datetime.datetime, reason: str, actor: User | None, via: str = ""
) -> Order:
    """A manager releases a waiting order early or postpones it, with a reason."""
    if actor is not None and not user_can(actor, "order.reschedule_release"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("Only a manager may move a release."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the release time changes.")]})
    order = _order_lock(order)
    if order.status != OrderStatus.AWAITING_RELEASE:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("Order %(number)s is not waiting for release.") % {"number": order.number},
        )
    before = order.release_earliest
    order.release_earliest = release_at
    if order.release_at is not None:  # an order waiting for stock keeps waiting for it
        order.release_at = release_at
    order.save(update_fields=["release_earliest", "release_at", "updated_at"])
    audit_record(
        instance=order,
        action=AuditAction.CHANGE,
        changes={"release_at": [before.isoformat() if before else None, release_at.isoformat()]},
        actor=actor,
        via=via,
        note=reason,
    )
    return order


@service_atomic
def order_release(*, order: Order, actor: User | None, via: str = "", note: str = "") -> Order:
    if order_has_open_holds(order=order):
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE, message=_("Order %(number)s has open holds.") % {"number": order.number}
        )
    return _transition(order=order, to=OrderStatus.RELEASED, actor=actor, via=via, note=note)


@service_atomic
def order_release_batch(
    *, order_ids: list[int], actor: User | None = None, via: str = "release-sweep", note: str = ""
) -> int:
    """Release many due orders at once: one UPDATE, one INSERT of audit entries, one of events.

    The caller (the fulfilment sweep) has locked the orders (FOR UPDATE SKIP LOCKED) and checked
    their holds; this checks the state machine and writes what a single release writes, as plain
    rows (the sweep releases thousands of orders a second).
    """
    if not order_ids:
        return 0
    old = OrderStatus.AWAITING_RELEASE
    updated = Order.objects.filter(pk__in=order_ids, status=old).update(
        status=OrderStatus.RELEASED, updated_at=timezone.now()
    )
    chain_release(Order, order_ids)
    if updated != len(order_ids):
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE, message=_("Some of these orders are no longer waiting for release.")
        )
    _announce_bulk(order_ids, old=old, new=OrderStatus.RELEASED, actor=actor, via=via, note=note)
    return updated


@service_atomic
def order_invoice_batch(
    *, order_ids: list[int], actor: User | None = None, via: str = "invoicing", note: str = ""
) -> int:
    """Mark many shipped orders invoiced at once (the invoice run): what order_invoice writes, as plain rows.

    The caller has checked that every shipment of these orders is billed by an issued invoice.
    Orders no longer shipped (invoiced meanwhile, say) are left as they are; the rows are locked in
    primary-key order so that two runs cannot deadlock. Returns how many orders became invoiced.
    """
    if not order_ids:
        return 0
    old = OrderStatus.SHIPPED
    locked = list(
        Order.objects.select_for_update()
        .filter(pk__in=order_ids, status=old)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not locked:
        return 0
    updated = Order.objects.filter(pk__in=locked).update(status=OrderStatus.INVOICED, updated_at=timezone.now())
    chain_release(Order, locked)
    _announce_bulk(locked, old=old, new=OrderStatus.INVOICED, actor=actor, via=via, note=note)
    return updated


def _announce_bulk(order_ids: list[int], *, old: str, new: OrderStatus, actor: User | None, via: str, note: str):
    """The audit entries and `order.<new status>` events of one status change on many orders."""
    payloads = _order_event_payloads(order_ids)
    label = _("Order %(number)s")
    audit_transitions_bulk(
        model=Order,
        object_ids=[p["id"] for p in payloads],
        reprs=[label % {"number": p["number"]} for p in payloads],
        field="status",
        old=old,
        new=new,
        actor=actor,
        via=via,
        note=note,
    )
    event_record_many(
        events=[(f"order.{new!s}", "order", p["id"], {**p, "previous_status": old, "reason": note}) for p in payloads],
        actor=actor,
    )


@service_atomic
def order_ship_partially(*, order: Order, actor: User | None, via: str = "", note: str = "") -> Order:
    return _transition(order=order, to=OrderStatus.PARTIALLY_SHIPPED, actor=actor, via=via, note=note)


@service_atomic
def order_ship(*, order: Order, actor: User | None, via: str = "", note: str = "") -> Order:
    return _transition(order=order, to=OrderStatus.SHIPPED, actor=actor, via=via, note=note)


@service_atomic
def order_invoice(*, order: Order, actor: User | None, via: str = "", note: str = "") -> Order:
    return _transition(order=order, to=OrderStatus.INVOICED, actor=actor, via=via, note=note)


@service_atomic
def order_close(*, order: Order, actor: User | None, via: str = "", note: str = "") -> Order:
    return _transition(order=order, to=OrderStatus.CLOSED, actor=actor, via=via, note=note)


@service_atomic
def order_cancel(*, order: Order, reason: str, actor: User | None, via: str = "") -> Order:
    if actor is not None and not user_can(actor, "order.cancel"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("You may not cancel orders."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the order is cancelled.")]})
    order = _transition(
        order=order, to=OrderStatus.CANCELLED, actor=actor, via=via, note=reason, cancel_reason=reason[:200]
    )
    events.order_cancelled.send(sender=Order, order=order, actor=actor, via=via)
    return order


# Holds -------------------------------------------------------------------------------------------

HOLDABLE = {
    OrderStatus.DRAFT,
    OrderStatus.SUBMITTED,
    OrderStatus.CREDIT_HOLD,
    OrderStatus.CONFIRMED,
    OrderStatus.AWAITING_RELEASE,
}


@service_atomic
def order_hold_add(
    *, order: Order, reason: str, actor: User | None, via: str = "", kind: str = HoldKind.MANUAL
) -> OrderHold:
    if actor is not None and not user_can(actor, "order.hold"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("You may not put orders on hold."))
    order = _order_lock(order)
    if order.status not in HOLDABLE:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("Order %(number)s is already released; it cannot be held.") % {"number": order.number},
        )
    reason = (reason or "").strip()
    if kind == HoldKind.MANUAL and not reason:
        raise ValidationError({"reason": [_("Say why the order is held.")]})
    hold = OrderHold.objects.create(
        order=order,
        kind=kind,
        reason=reason[:200],
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_record(
        instance=order,
        action=AuditAction.CHANGE,
        changes={"hold": [None, hold.get_kind_display()]},
        actor=actor,
        via=via,
        note=reason,
    )
    event_record(
        event_type="order.hold_added",
        aggregate_type="order",
        aggregate_id=order.pk,
        payload=order_event_payload(order, hold={"id": hold.pk, "kind": hold.kind, "reason": hold.reason}),
        actor=actor,
    )
    return hold


@service_atomic
def order_hold_satisfy(*, hold: OrderHold, note: str, actor: User | None, via: str = "") -> OrderHold:
    if actor is not None and not user_can(actor, "order.hold"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("You may not release holds."))
    hold = (
        OrderHold.objects.select_for_update(of=("self",))
        .select_related("order__customer", "order__sales_rep")
        .get(pk=hold.pk)
    )
    if not hold.is_open:
        raise ApplicationError(code=ErrorCode.INVALID_STATE, message=_("This condition is already met."))
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": [_("Say how the condition was met (e.g. the installer and date).")]})
    hold.satisfied_at = timezone.now()
    hold.satisfied_by = actor if actor is not None and actor.is_authenticated else None
    hold.satisfied_note = note[:200]
    hold.save(update_fields=["satisfied_at", "satisfied_by", "satisfied_note"])
    order = hold.order
    audit_record(
        instance=order,
        action=AuditAction.CHANGE,
        changes={"hold": [hold.get_kind_display(), None]},
        actor=actor,
        via=via,
        note=note,
    )
    event_record(
        event_type="order.hold_satisfied",
        aggregate_type="order",
        aggregate_id=order.pk,
        payload=order_event_payload(order, hold={"id": hold.pk, "kind": hold.kind, "note": note}),
        actor=actor,
    )
    return hold
