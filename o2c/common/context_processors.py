from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import user_can, user_roles

# (label, url name, capability). Stages add their entries here as they arrive; the menu shows a
# user exactly the entries their roles may open.
NAVIGATION = [
    (_("Orders"), "orders:order_list", "order.view"),
    (_("Warehouse"), "fulfilment:queue", "fulfilment.work"),
    (_("Customers"), "orders:customer_list", "customer.view"),
    (_("Products"), "orders:product_list", "product.view"),
    (_("VAT rates"), "orders:vat_list", "vat.view"),
    (_("Company"), "orders:company_detail", "company.view"),
    (_("Audit trail"), "audit_list", "audit.view"),
    (_("Integrations"), "outbox:subscription_list", "webhook.view"),
    (_("Stock"), "fulfilment:stock_list", "stock.view"),
    (_("Invoices"), "invoicing:invoice_list", "invoice.view"),
    (_("Exchange rates"), "invoicing:exchange_rate_list", "exchange_rate.view"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_roles": []}
    items = [
        {"label": label, "url": reverse(url_name), "active": False}
        for label, url_name, capability in NAVIGATION
        if user_can(user, capability)
    ]
    # One entry is current: the longest URL the path starts with (/warehouse/stock/ over /warehouse/).
    matching = [item for item in items if request.path.startswith(item["url"])]
    if matching:
        max(matching, key=lambda item: len(item["url"]))["active"] = True
    return {"nav_items": items, "nav_roles": sorted(role.label for role in user_roles(user))}
