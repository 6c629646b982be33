import datetime
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.money import VatSubtotal, document_totals

from .models import Company, Customer, Order, OrderHold, OrderLine, Product, VatCategory, VatRate


def company_get_current() -> Company | None:
    """The selling company. One per installation for now; the schema allows more."""
    return Company.objects.select_related("invoice_series", "credit_note_series").order_by("pk").first()


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
