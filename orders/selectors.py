import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from o2c.common.exceptions import ApplicationError, ErrorCode

from .models import Company, Customer, Product, VatCategory, VatRate


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


def vat_category_get(*, country: str, code: str) -> VatCategory:
    try:
        return VatCategory.objects.get(country=country, code=code)
    except VatCategory.DoesNotExist:
        raise ApplicationError(
            code=ErrorCode.NOT_FOUND,
            message=_("No VAT category %(code)r for %(country)s.") % {"code": code, "country": country},
        ) from None


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
