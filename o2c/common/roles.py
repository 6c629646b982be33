"""Roles and what each may do: the one permission matrix, enforced by every view and endpoint.

A role is a Django group created by a migration (common/0002). A capability is a verb on a kind of
record; views and API endpoints name the capability they need, never a role, so the matrix below is
the whole truth (docs/architecture.md prints it; a test keeps the two in step).
"""

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SALES = "sales", _("Sales")
    WAREHOUSE = "warehouse", _("Warehouse")
    FINANCE = "finance", _("Finance")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Administrator")


S, W, F, M, A = Role.SALES, Role.WAREHOUSE, Role.FINANCE, Role.MANAGER, Role.ADMIN

CAPABILITIES: dict[str, frozenset[Role]] = {
    "customer.view": frozenset({S, F, M, A}),
    "customer.edit": frozenset({S, F, A}),
    # Credit limits, blocking and agreed reminder fees are finance decisions, not a sales rep's.
    "customer.edit_credit": frozenset({F, A}),
    "product.view": frozenset({S, W, F, M, A}),
    "product.edit": frozenset({M, A}),
    "company.view": frozenset({F, M, A}),
    "company.edit": frozenset({A}),
    "vat.view": frozenset({S, F, M, A}),
    "vat.edit": frozenset({A}),
    "audit.view": frozenset({F, M, A}),
    "webhook.view": frozenset({F, M, A}),
    "webhook.edit": frozenset({A}),
    "order.view": frozenset({S, W, F, M, A}),
    "order.create": frozenset({S, M, A}),
    "order.cancel": frozenset({S, F, M, A}),
    # Also granted to single users by the Django permission orders.override_price.
    "order.override_price": frozenset({M, A}),
    "order.hold": frozenset({S, M, A}),
    "credit.release": frozenset({F, A}),
    "order.reschedule_release": frozenset({M, A}),
    "stock.view": frozenset({S, W, F, M, A}),
    "stock.edit": frozenset({W, M, A}),
    "fulfilment.work": frozenset({W, M, A}),
    # Sales reps see invoices (as they see all orders); only finance makes, approves, issues and sends them.
    "invoice.view": frozenset({S, F, M, A}),
    "invoice.edit": frozenset({F, A}),
    # Also granted by the Django permission invoicing.approve_invoice (an approving manager, say).
    "invoice.approve": frozenset({F, A}),
    "invoice.issue": frozenset({F, A}),
    "invoice.run": frozenset({F, A}),
    "credit_note.create": frozenset({F, A}),
    "exchange_rate.view": frozenset({F, M, A}),
    "exchange_rate.edit": frozenset({F, A}),
    "invoicing_settings.edit": frozenset({A}),
}

# Capabilities that a Django permission grants too, to a user or a group outside the roles above.
CAPABILITY_PERMISSIONS = {
    "order.override_price": "orders.override_price",
    "invoice.approve": "invoicing.approve_invoice",
}


def user_roles(user: User | AnonymousUser) -> set[Role]:
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.is_superuser:
        return set(Role)
    cached = getattr(user, "_o2c_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = {role for role in Role if role.value in names}
        user._o2c_roles = cached
    return cached


def user_can(user: User | AnonymousUser, capability: str) -> bool:
    try:
        allowed = CAPABILITIES[capability]
    except KeyError:
        raise ValueError(f"Unknown capability {capability!r}") from None
    if user_roles(user) & allowed:
        return True
    permission = CAPABILITY_PERMISSIONS.get(capability)
    return bool(permission and user.is_authenticated and user.has_perm(permission))
