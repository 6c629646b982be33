from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import user_can, user_roles

# (label, url name, capability). Stages add their entries here as they arrive; the menu shows a
# user exactly the entries their roles may open.
NAVIGATION = [
    (_("Orders"), "orders:order_list", "order.view"),
    (_("Customers"), "orders:customer_list", "customer.view"),
    (_("Products"), "orders:product_list", "product.view"),
    (_("VAT rates"), "orders:vat_list", "vat.view"),
    (_("Company"), "orders:company_detail", "company.view"),
    (_("Audit trail"), "audit_list", "audit.view"),
    (_("Integrations"), "outbox:subscription_list", "webhook.view"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_roles": []}
    items = [
        {"label": label, "url": reverse(url_name), "active": request.path.startswith(reverse(url_name))}
        for label, url_name, capability in NAVIGATION
        if user_can(user, capability)
    ]
    return {"nav_items": items, "nav_roles": sorted(role.label for role in user_roles(user))}
