import datetime
import functools
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from o2c.common.db import ReferenceCache, execute_prepared, instances_from_row, instances_where, select_list
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.money import VatSubtotal, document_totals

from .models import Company, Customer, Order, OrderHold, OrderLine, Product, VatCategory, VatRate

# What every order reads and hardly ever changes (see ReferenceCache for how stale it may be).
_order_reference = ReferenceCache(Company, VatCategory, VatRate)


def company_get_current() -> Company | None:
    """The selling company. One per installation for now; the schema allows more."""
    return Company.objects.select_related("invoice_series", "credit_note_series").order_by("pk").first()


def company_for_orders() -> Company | None:
    """The selling company as pricing needs it (country, base currency): cached, so read-only."""
    return _order_reference.get("company", lambda: Company.objects.order_by("pk").first())


def vat_rates_on(*, category_ids: set[int], on: datetime.date) -> dict[int, Decimal]:
    """The rate in force on a date for each of these VAT categories that has one: cached."""
    rows = _order_reference.get(
        ("vat_rates", frozenset(category_ids)),
        lambda: tuple(
            VatRate.objects.filter(category_id__in=category_ids)
            .order_by("valid_from")
            .values_list("category_id", "rate", "valid_from", "valid_to")
        ),
    )
    rates: dict[int, Decimal] = {}
    for category_id, rate, valid_from, valid_to in rows:
        if valid_from <= on and (valid_to is None or valid_to >= on):
            rates[category_id] = rate
    return rates


def customer_for_order(*, number: str | None = None, pk: int | None = None) -> Customer | None:
    """The customer an order is for, with its sales rep, read afresh (a block a moment ago counts).

    By customer number (e-orders) or primary key. One plain SELECT on PostgreSQL: every e-order
    reads it, and building the queryset cost more than the query.
    """
    if connection.vendor == "postgresql":
        column, value = ("number", number) if pk is None else ("id", pk)
        found = instances_where(Customer, f"orders_customer.{column} = %s", [value], related="sales_rep")
        return found[0] if found else None
    lookup = {"number": number} if pk is None else {"pk": pk}
    return Customer.objects.select_related("sales_rep").filter(**lookup).first()


@functools.lru_cache(maxsize=1024)  # one text per customer column and SKU count
def _customer_and_products_sql(column: str, sku_count: int) -> tuple[str, list, list]:
    columns, shapes = select_list([(Customer, "c"), (User, "u"), (Product, "p"), (VatCategory, "v")])
    sql = (
        f"SELECT {columns} FROM orders_customer c LEFT JOIN auth_user u ON u.id = c.sales_rep_id "
        "LEFT JOIN (orders_product p LEFT JOIN orders_vatcategory v ON v.id = p.vat_category_id) "
        f"ON p.sku IN ({', '.join(['%s'] * sku_count)}) WHERE c.{column} = %s"
    )
    return sql, shapes[:2], shapes[2:]


def customer_and_products_for_order(
    *, skus: set[str], number: str | None = None, pk: int | None = None
) -> tuple[Customer | None, dict[str, Product]]:
    """customer_for_order and products_for_order, in one round trip on PostgreSQL (every e-order
    reads both): one row per product found, each with the customer and its sales rep, or one row
    without a product. When there is no such customer, the products are read on their own, so
    their errors are reported too."""
    if connection.vendor != "postgresql" or not skus:
        return customer_for_order(number=number, pk=pk), products_for_order(skus=skus)
    sql, params, shapes = customer_and_products_query(skus=skus, number=number, pk=pk)
    with connection.cursor() as cursor:
        execute_prepared(cursor, [(sql, params)])
        rows = cursor.fetchall()
    return customer_and_products_from_rows(rows, shapes, skus=skus)


def customer_and_products_query(*, skus: set[str], number: str | None = None, pk: int | None = None) -> tuple:
    """customer_and_products_for_order's SELECT (PostgreSQL, `skus` not empty), its parameters and
    the shape of its rows, for a service that reads more in the same statement; its rows go to
    customer_and_products_from_rows (further columns after the query's are ignored)."""
    sql, customer_shapes, product_shapes = _customer_and_products_sql("number" if pk is None else "id", len(skus))
    return sql, [*skus, number if pk is None else pk], (customer_shapes, product_shapes)


def customer_and_products_from_rows(rows, shapes, *, skus: set[str]) -> tuple[Customer | None, dict[str, Product]]:
    customer_shapes, product_shapes = shapes
    if not rows:
        return None, products_for_order(skus=skus)
    customer, sales_rep = instances_from_row(rows[0], customer_shapes)
    customer.sales_rep = sales_rep
    products = {}
    for row in rows:
        product, category = instances_from_row(row, product_shapes)
        if product is not None:
            product.vat_category = category
            products[product.sku] = product
    return customer, products


def products_for_order(*, skus: set[str]) -> dict[str, Product]:
    """Products by SKU, with their VAT categories (inactive ones too: pricing says why not)."""
    if not skus:
        return {}
    if connection.vendor == "postgresql":
        found = instances_where(
            Product, "orders_product.sku IN (" + ", ".join(["%s"] * len(skus)) + ")", list(skus), related="vat_category"
        )
    else:
        found = Product.objects.select_related("vat_category").filter(sku__in=skus)
    return {p.sku: p for p in found}


def customer_list(*, search: str = "") -> QuerySet[Customer]:
    customers = Customer.objects.select_related("sales_rep")
    if search:
        customers = customers.filter(
            Q(number__icontains=search)
            | Q(name__icontains=search)
            | Q(org_number__icontains=search)
            | Q(vat_number__icontains=search)
            | Q(invoice_email__icontains=search)
            | Q(billing_city__icontains=search)
        )
    return customers


def customer_next_number() -> str:
    """One more than the highest all-digit customer number (10001 for the first)."""
    numbers = Customer.objects.filter(number__regex=r"^[0-9]+$").values_list("number", flat=True)
    highest = max((int(n) for n in numbers), default=10000)
    return str(highest + 1)


def product_list(*, search: str = "") -> QuerySet[Product]:
    products = Product.objects.select_related("vat_category")
    if search:
        products = products.filter(Q(sku__icontains=search) | Q(name__icontains=search))
    return products


def vat_category_list(*, country: str | None = None) -> QuerySet[VatCategory]:
    categories = VatCategory.objects.prefetch_related("rates")
    if country:
        categories = categories.filter(country=country)
    return categories


def vat_rate_on(*, category: VatCategory, on: datetime.date) -> Decimal:
    """The rate in force for a category on a date (the delivery or invoice date)."""
    rate = (
        VatRate.objects.filter(category=category, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .order_by("-valid_from")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("No VAT rate for %(category)s on %(date)s.") % {"category": category, "date": on.isoformat()},
        )
    return rate


def order_list(*, search: str = "") -> QuerySet[Order]:
    orders = Order.objects.select_related("customer", "sales_rep")
    if search:
        term = search.strip()
        condition = (
            Q(customer__name__icontains=term)
            | Q(customer__number=term)
            | Q(external_reference=term)
            | Q(customer_reference__icontains=term)
        )
        if term.isdigit():
            condition |= Q(number=int(term))
        orders = orders.filter(condition)
    return orders


def order_get(*, pk: int) -> Order:
    """An order with everything its page and API representation show, in a fixed number of queries."""
    return (
        order_list()
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product", "vat_category")),
            Prefetch("holds", queryset=OrderHold.objects.select_related("created_by", "satisfied_by")),
        )
        .get(pk=pk)
    )


def order_with_children(order: Order, *, lines: list[OrderLine], holds: list[OrderHold]) -> Order:
    """Give an order in hand its lines and holds as if prefetched (order_get's shape, no queries).

    For an order just created: the lines and holds are the instances just inserted, with their
    products and VAT categories, so the API answers with them instead of reading them back.
    """
    for name, objects in (("lines", lines), ("holds", holds)):
        queryset = getattr(order, name).all()
        queryset._result_cache = list(objects)
        queryset._prefetch_done = True
        order._prefetched_objects_cache = getattr(order, "_prefetched_objects_cache", {})
        order._prefetched_objects_cache[name] = queryset
    return order


def order_line_list(*, order: Order) -> list[OrderLine]:
    """An order's lines in position order, with products and VAT categories (prefetched ones if there are)."""
    prefetched = getattr(order, "_prefetched_objects_cache", {}).get("lines")
    if prefetched is not None:
        return sorted(prefetched, key=lambda line: line.position)
    return list(OrderLine.objects.filter(order=order).select_related("product", "vat_category").order_by("position"))


def order_list_detailed() -> QuerySet[Order]:
    return order_list().prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product", "vat_category")),
        Prefetch("holds", queryset=OrderHold.objects.all()),
    )


def order_vat_breakdown(*, order: Order) -> tuple[VatSubtotal, ...]:
    return document_totals(
        lines=((line.vat_category.uncl5305_code, line.vat_rate, line.net_amount) for line in order.lines.all()),
        currency=order.currency,
    ).vat_breakdown


def order_has_open_holds(*, order: Order) -> bool:
    return OrderHold.objects.filter(order=order, satisfied_at__isnull=True).exists()
