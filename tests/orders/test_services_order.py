import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from o2c.common.exceptions import ApplicationError
from o2c.common.models import AuditEntry
from o2c.outbox.models import OutboxEvent
from orders import services
from orders.models import ORDER_TRANSITIONS, HoldKind, Order, OrderStatus
from orders.services import LineInput
from tests.factories import CustomerFactory, ProductFactory, user_with_role


@pytest.fixture
def sales(db):
    return user_with_role("sales")


def lines(*specs):
    return [
        LineInput(sku=sku, quantity=Decimal(q), **extra)
        for sku, q, *rest in specs
        for extra in [rest[0] if rest else {}]
    ]


def test_totals_round_each_line_then_vat_once_per_rate(sales, customer, catalogue):
    order = services.order_create(
        customer=customer,
        actor=sales,
        via="web",
        lines=lines(("HP-8", "1"), ("FILTER", "3", {"discount_percent": Decimal("12.5")}), ("BOOK", "1")),
    )
    # filter: 3 × 349.00 × 0.875 = 916.125 -> 916.13 (half up)
    nets = [line.net_amount for line in order.lines.order_by("position")]
    assert nets == [Decimal("89900.00"), Decimal("916.13"), Decimal("295.00")]
    # VAT 25 % on 90816.13 = 22704.0325 -> 22704.03; 6 % on 295.00 = 17.70
    assert order.net_amount == Decimal("91111.13")
    assert order.vat_amount == Decimal("22721.73")
    assert order.gross_amount == Decimal("113832.86")
    assert [line.vat_rate for line in order.lines.order_by("position")] == [
        Decimal("25.00"),
        Decimal("25.00"),
        Decimal("6.00"),
    ]


def test_an_order_within_the_credit_limit_is_confirmed_and_announced(sales, customer, catalogue):
    order = services.order_create(customer=customer, actor=sales, lines=lines(("FILTER", "1")))
    # Confirmed, then fulfilment reserved stock and scheduled the pick release.
    assert order.status == OrderStatus.AWAITING_RELEASE
    types = list(OutboxEvent.objects.filter(aggregate_id=str(order.pk)).values_list("event_type", flat=True))
    assert types == ["order.created", "order.submitted", "order.confirmed", "order.awaiting_release"]
    transitions = AuditEntry.objects.filter(object_id=str(order.pk), action="transition").order_by("id")
    assert [t.changes["status"] for t in transitions] == [
        ["draft", "submitted"],
        ["submitted", "confirmed"],
        ["confirmed", "awaiting_release"],
    ]


def test_over_the_credit_limit_the_order_goes_on_credit_hold(sales, company, catalogue):
    customer = CustomerFactory(credit_limit=Decimal("50000.00"))
    order = services.order_create(customer=customer, actor=sales, lines=lines(("HP-8", "1")))
    assert order.status == OrderStatus.CREDIT_HOLD
    note = AuditEntry.objects.filter(object_id=str(order.pk), action="transition").latest("id").note
    assert "Credit limit" in note


def test_a_new_customer_without_credit_limit_is_held_and_finance_releases(sales, company, catalogue):
    from credit.services import credit_hold_release

    order = services.order_create(customer=CustomerFactory(credit_limit=0), actor=sales, lines=lines(("BOOK", "1")))
    assert order.status == OrderStatus.CREDIT_HOLD
    with pytest.raises(ApplicationError):
        credit_hold_release(order=order, note="ok", actor=sales)
    order = credit_hold_release(order=order, note="Paid in advance", actor=user_with_role("finance"))
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_RELEASE


def test_draft_stays_draft(sales, customer, catalogue):
    order = services.order_create(customer=customer, actor=sales, lines=lines(("BOOK", "1")), submit=False)
    assert order.status == OrderStatus.DRAFT


def test_all_input_errors_come_at_once_with_paths_and_nothing_is_saved(sales, customer, catalogue):
    with pytest.raises(ValidationError) as exc:
        services.order_create(
            customer=customer,
            actor=sales,
            currency="EUR",
            requested_delivery_date=datetime.date(2020, 1, 1),
            lines=[
                LineInput(sku="HP-8", quantity=Decimal("0")),
                LineInput(sku="FILTER", quantity=Decimal("1.0001")),
                LineInput(sku="NOPE", quantity=Decimal("1")),
                LineInput(sku="BOOK", quantity=Decimal("1"), unit_price=Decimal("1.00")),
            ],
        )
    errors = exc.value.message_dict
    assert set(errors) == {
        "currency",
        "requested_delivery_date",
        "lines[0].quantity",
        "lines[1].quantity",
        "lines[2].sku",
        "lines[3].unit_price",
    }
    assert "invoiced in SEK, not EUR" in errors["currency"][0]
    assert "may not set a price" in errors["lines[3].unit_price"][0]
    assert not Order.objects.exists()
    assert not OutboxEvent.objects.exists()
    assert not AuditEntry.objects.filter(content_type__model="order").exists()


def test_price_override_needs_the_permission_and_the_currency_precision(customer, catalogue):
    manager = user_with_role("manager")
    order = services.order_create(
        customer=customer,
        actor=manager,
        lines=[LineInput(sku="BOOK", quantity=Decimal(2), unit_price=Decimal("250.00"))],
    )
    assert order.net_amount == Decimal("500.00")
    with pytest.raises(ValidationError) as exc:
        services.order_create(
            customer=customer,
            actor=manager,
            lines=[LineInput(sku="BOOK", quantity=Decimal(1), unit_price=Decimal("1.001"))],
        )
    assert "at most 2 decimals" in exc.value.message_dict["lines[0].unit_price"][0]


def test_the_django_permission_grants_price_override_to_a_sales_user(customer, catalogue):
    from django.contrib.auth.models import Permission

    rep = user_with_role("sales", "rep-with-perm")
    rep.user_permissions.add(Permission.objects.get(codename="override_price"))
    rep = type(rep).objects.get(pk=rep.pk)  # fresh permission cache
    order = services.order_create(
        customer=customer, actor=rep, lines=[LineInput(sku="BOOK", quantity=Decimal(1), unit_price=Decimal("199.00"))]
    )
    assert order.net_amount == Decimal("199.00")


def test_blocked_customer_and_too_many_lines(sales, customer, catalogue):
    services.customer_block(customer=customer, reason="Late payer", actor=None)
    with pytest.raises(ValidationError) as exc:
        services.order_create(customer=customer, actor=sales, lines=lines(*[("BOOK", "1")] * 501))
    assert "blocked: Late payer" in exc.value.message_dict["customer"][0]
    assert "at most 500 lines; this one has 501" in exc.value.message_dict["lines"][0]


def test_installation_products_put_holds_that_block_release(sales, customer, company):
    ProductFactory(sku="HP-INST", requires_installation=True)
    order = services.order_create(customer=customer, actor=sales, lines=lines(("HP-INST", "1")))
    assert sorted(order.holds.values_list("kind", flat=True)) == [HoldKind.INSTALLER_BOOKED, HoldKind.QUOTE_ACCEPTED]
    assert order.status == OrderStatus.AWAITING_RELEASE
    with pytest.raises(ApplicationError, match="open holds"):
        services.order_release(order=order, actor=None)
    for hold in order.holds.all():
        with pytest.raises(ValidationError):
            services.order_hold_satisfy(hold=hold, note=" ", actor=sales)
        services.order_hold_satisfy(hold=hold, note="Installer Kalle booked 2026-12-01", actor=sales)
    assert services.order_release(order=order, actor=None).status == OrderStatus.RELEASED
    types = list(OutboxEvent.objects.filter(aggregate_id=str(order.pk)).values_list("event_type", flat=True))
    assert types.count("order.hold_satisfied") == 2


def test_manual_hold_needs_a_reason_and_a_holdable_order(sales, customer, catalogue):
    order = services.order_create(customer=customer, actor=sales, lines=lines(("BOOK", "1")))
    with pytest.raises(ValidationError):
        services.order_hold_add(order=order, reason="", actor=sales)
    hold = services.order_hold_add(order=order, reason="Customer asked to wait", actor=sales)
    assert hold.is_open and hold.kind == HoldKind.MANUAL


def test_cancel_before_release_with_a_reason(sales, customer, catalogue):
    order = services.order_create(customer=customer, actor=sales, lines=lines(("BOOK", "1")))
    with pytest.raises(ValidationError):
        services.order_cancel(order=order, reason=" ", actor=sales)
    order = services.order_cancel(order=order, reason="Customer changed their mind", actor=sales)
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "Customer changed their mind")
    assert OutboxEvent.objects.filter(aggregate_id=str(order.pk), event_type="order.cancelled").exists()


def test_a_released_order_can_be_cancelled_until_picking_starts(sales, customer, company):
    from fulfilment import services as fulfilment
    from fulfilment.models import PickList, PickListStatus

    product = ProductFactory(sku="PICKED")
    fulfilment.stock_receive(product=product, quantity=Decimal(10), actor=None)
    untouched = services.order_create(customer=customer, actor=sales, lines=lines(("PICKED", "1")))
    picked = services.order_create(customer=customer, actor=sales, lines=lines(("PICKED", "2")))
    for order in (untouched, picked):
        services.order_reschedule_release(order=order, release_at=order.created_at, reason="now", actor=None)
    fulfilment.orders_release_due()
    pick_list = PickList.objects.get(order=picked)
    fulfilment.pick_list_pick(pick_list=pick_list, picked={pick_list.lines.get().pk: Decimal(2)}, actor=None)

    cancelled = services.order_cancel(order=untouched, reason="Changed mind", actor=sales)
    assert cancelled.status == OrderStatus.CANCELLED
    assert PickList.objects.get(order=untouched).status == PickListStatus.CANCELLED
    with pytest.raises(ApplicationError, match="Picking has started"):
        services.order_cancel(order=picked, reason="too late", actor=sales)
    picked.refresh_from_db()
    assert picked.status == OrderStatus.RELEASED  # the refused cancel was rolled back whole
    assert not OutboxEvent.objects.filter(aggregate_id=str(picked.pk), event_type="order.cancelled").exists()


def test_the_whole_happy_path_follows_the_transitions_map(sales, customer, catalogue):
    order = services.order_create(customer=customer, actor=sales, lines=lines(("BOOK", "1")))
    assert order.status == OrderStatus.AWAITING_RELEASE
    for step in (
        services.order_release,
        services.order_ship_partially,
        services.order_ship,
        services.order_invoice,
        services.order_close,
    ):
        previous = order.status
        order = step(order=order, actor=None)
        assert order.status in ORDER_TRANSITIONS[OrderStatus(previous)]
    assert order.status == OrderStatus.CLOSED


def test_every_status_can_be_reached_and_cancellation_ends_with_picking():
    reachable = {OrderStatus.DRAFT}
    frontier = [OrderStatus.DRAFT]
    while frontier:
        for target in ORDER_TRANSITIONS[frontier.pop()]:
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(OrderStatus)
    cancellable = {s for s, targets in ORDER_TRANSITIONS.items() if OrderStatus.CANCELLED in targets}
    assert cancellable == {
        OrderStatus.DRAFT,
        OrderStatus.SUBMITTED,
        OrderStatus.CREDIT_HOLD,
        OrderStatus.CONFIRMED,
        OrderStatus.AWAITING_RELEASE,
        OrderStatus.RELEASED,
    }


def test_vat_abroad_reverse_charge_intra_eu_and_export(sales, company, catalogue):
    services_ = ProductFactory(sku="SERVICE", kind="service")
    de = CustomerFactory(country="DE", vat_number="DE136695976", currency="EUR", credit_limit=Decimal("1000000"))
    us = CustomerFactory(country="US", currency="USD", credit_limit=Decimal("1000000"))
    manager = user_with_role("manager")
    goods = LineInput(sku="FILTER", quantity=Decimal(1), unit_price=Decimal("30.00"))
    service = LineInput(sku=services_.sku, quantity=Decimal(1), unit_price=Decimal("50.00"))
    to_de = services.order_create(customer=de, actor=manager, lines=[goods, service])
    assert [line.vat_category.code for line in to_de.lines.order_by("position")] == ["intra_eu", "reverse_charge"]
    assert to_de.vat_amount == Decimal("0.00")
    to_us = services.order_create(customer=us, actor=manager, lines=[goods])
    assert to_us.lines.get().vat_category.code == "export"


def test_a_product_in_another_currency_needs_an_explicit_price(sales, company, catalogue):
    eur = CustomerFactory(country="FI", currency="EUR", credit_limit=Decimal("1000"))
    with pytest.raises(ValidationError) as exc:
        services.order_create(customer=eur, actor=sales, lines=lines(("BOOK", "1")))
    assert "priced in SEK" in exc.value.message_dict["lines[0].unit_price"][0]


def test_event_payloads_read_in_bulk_equal_the_single_ones(sales, customer, catalogue):
    from orders.services.ordering import _order_event_payloads, order_event_payload

    order = services.order_create(customer=customer, actor=sales, lines=lines(("BOOK", "1")))
    order = Order.objects.select_related("customer", "sales_rep").get(pk=order.pk)
    assert _order_event_payloads([order.pk]) == [order_event_payload(order)]


def test_the_sales_rep_hears_by_email_when_an_order_is_cancelled(customer, catalogue, mailoutbox):
    from o2c.outbox.delivery import outbox_dispatch_pending

    rep = user_with_role("sales", "rep-with-mail")
    rep.email = "sara@example.com"
    rep.save()
    order = services.order_create(customer=customer, actor=rep, sales_rep=rep, lines=lines(("BOOK", "1")))
    services.order_cancel(order=order, reason="Customer changed their mind", actor=rep)
    outbox_dispatch_pending()
    assert [m.to for m in mailoutbox] == [["sara@example.com"]]
    assert f"Order {order.number}" in mailoutbox[0].subject
    assert "Customer changed their mind" in mailoutbox[0].body


def test_each_new_order_takes_one_number_and_one_id_per_line(sales, customer, catalogue):
    # On PostgreSQL the ids come from the statement that reads the customer and one row per
    # product: the sequences must advance once per order, not once per row.
    first = services.order_create(customer=customer, actor=sales, lines=lines(("HP-8", "1"), ("FILTER", "2")))
    second = services.order_create(
        customer=customer, actor=sales, lines=lines(("HP-8", "1"), ("FILTER", "2"), ("BOOK", "1"))
    )
    assert (second.number, second.pk) == (first.number + 1, first.pk + 1)
    first_ids = sorted(first.lines.values_list("pk", flat=True))
    second_ids = sorted(second.lines.values_list("pk", flat=True))
    assert second_ids == list(range(first_ids[-1] + 1, first_ids[-1] + 4))
    assert first_ids == list(range(first_ids[0], first_ids[0] + 2))


@pytest.mark.postgres
def test_the_credit_checks_sum_reads_only_the_customers_open_orders(sales, customer, catalogue):
    """The statement is prepared, so PostgreSQL may run it with a generic plan: that plan must
    still use the partial index of open orders, not every order the customer ever placed.

    The customer has a long history (2,000 closed orders) and one open order, analysed, as a
    customer has in use: with a near-empty table both indexes cost the same and the planner's
    pick between them would say nothing."""
    from django.db import connection

    from credit.services import EXPOSURE_SQL
    from o2c.common.db import _numbered

    services.order_create(customer=customer, actor=sales, lines=lines(("BOOK", "1")))
    columns = [f.column for f in Order._meta.concrete_fields if f.column not in ("id", "number", "status")]
    listed = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO orders_order (number, status, {listed}) "
            f"SELECT 1000000 + n, 'closed', {listed} FROM orders_order, generate_series(1, 2000) AS n "
            "WHERE customer_id = %s",
            [customer.pk],
        )
        cursor.execute("ANALYZE orders_order")
        statement = _numbered(EXPOSURE_SQL)
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE exposure_plan_test AS {statement}")
        try:
            cursor.execute("EXPLAIN EXECUTE exposure_plan_test(0, %s)", [customer.pk])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE exposure_plan_test")
    assert "order_customer_open_idx" in plan, plan
