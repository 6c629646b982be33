"""A warehouse system's stock report: many counts applied as one change."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import StockItem
from ..selectors.stock import stock_item_pks_by_product, stock_products_by_sku
from .stock import stock_count, warehouse_default

MAX_COUNTS = 1000

# The service's field names, as the report calls them.
_REPORT_FIELDS = {"counted": "on_hand", "product": "sku", "bin_location": "bin"}


@dataclass(frozen=True)
class CountInput:
    sku: str
    counted: Decimal
    bin_location: str | None = None


@transaction.atomic
def stock_counts_apply(*, counts: list[CountInput], reference: str, actor: User | None) -> list[StockItem]:
    """Set on-hand from a list of counts (stock_count for each), all or nothing.

    Every input error comes back at once, keyed `counts[3].sku`. Stock rows are counted in
    primary-key order, the order reservations lock them in, so a report and an order confirmed at
    the same moment cannot deadlock; the items come back in the order of `counts`.
    """
    if len(counts) > MAX_COUNTS:
        raise ValidationError({"counts": [_("Report at most %(max)d counts at a time.") % {"max": MAX_COUNTS}]})
    products = stock_products_by_sku(skus=[count.sku for count in counts])
    errors: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for index, count in enumerate(counts):
        product = products.get(count.sku)
        if product is None:
            errors[f"counts[{index}].sku"] = [_("No product with SKU %(sku)r.") % {"sku": count.sku}]
        elif not product.is_stock_tracked:
            errors[f"counts[{index}].sku"] = [_("%(sku)s is a service; it has no stock.") % {"sku": count.sku}]
        elif count.sku in seen:
            errors[f"counts[{index}].sku"] = [
                _("%(sku)s is already counted in counts[%(first)d].") % {"sku": count.sku, "first": seen[count.sku]}
            ]
        else:
            seen[count.sku] = index
        if count.counted < 0:
            errors[f"counts[{index}].on_hand"] = [_("A count cannot be negative.")]
    if errors:
        raise ValidationError(errors)

    warehouse = warehouse_default()
    item_pks = stock_item_pks_by_product(product_ids=[product.pk for product in products.values()], warehouse=warehouse)
    no_item_yet = float("inf")
    in_lock_order = sorted(
        range(len(counts)),
        key=lambda i: (item_pks.get(products[counts[i].sku].pk, no_item_yet), products[counts[i].sku].pk),
    )
    items: dict[int, StockItem] = {}
    for index in in_lock_order:
        count = counts[index]
        try:
            items[index] = stock_count(
                product=products[count.sku],
                counted=count.counted,
                actor=actor,
                reference=reference,
                warehouse=warehouse,
                bin_location=count.bin_location,
            )
        except ValidationError as exc:
            raise ValidationError(
                {
                    f"counts[{index}].{_REPORT_FIELDS.get(field, field)}": messages
                    for field, messages in exc.message_dict.items()
                }
            ) from exc
    return [items[index] for index in range(len(counts))]
