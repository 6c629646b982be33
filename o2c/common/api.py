"""What every API endpoint shares: the role check and pagination (errors: api_errors.py)."""

from rest_framework import exceptions, permissions
from rest_framework.pagination import PageNumberPagination

from .roles import user_can


class HasCapability(permissions.BasePermission):
    """Allow a request when the user's roles grant the capability the view names for it.

    A view sets `read_capability` (GET/HEAD/OPTIONS) and `write_capability` (everything else), or
    `action_capabilities` keyed by viewset action. A view that names none is closed to everyone:
    forgetting the check must fail safe.
    """

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        capability = required_capability(request, view)
        return capability is not None and user_can(request.user, capability)


def required_capability(request, view) -> str | None:
    action = getattr(view, "action", None)
    by_action = getattr(view, "action_capabilities", {})
    if action in by_action:
        return by_action[action]
    if request.method in permissions.SAFE_METHODS:
        return getattr(view, "read_capability", None)
    return getattr(view, "write_capability", None)


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
