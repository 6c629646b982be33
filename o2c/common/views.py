from django.contrib.auth.mixins import AccessMixin, LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from .roles import user_can
from .selectors import audit_entry_list, broker_health, database_health, worker_heartbeat


class CapabilityRequiredMixin(AccessMixin):
    """Log-in first, then the role check: a view names the capability it needs (o2c.common.roles).

    A view with no capability is refused to everyone, so a forgotten check fails safe.
    """

    capability: str | None = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if self.capability is None or not user_can(request.user, self.capability):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class FilteredListView(CapabilityRequiredMixin, TemplateView):
    """A list page: django-filter form (search and filters), sortable columns, pagination.

    Subclasses give `filterset_class`, `sort_fields` {"param": "orm field"}, `default_sort`, the
    `columns` to show and a `queryset()` from a selector.
    """

    filterset_class = None
    sort_fields: dict[str, str] = {}
    default_sort = ""
    paginate_by = 25
    title = ""
    columns: list[tuple[str, str]] = []  # (sort param or "", label)
    create_url_name = ""
    create_capability = ""

    def queryset(self) -> QuerySet:
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = self.filterset_class(self.request.GET or None, queryset=self.queryset(), request=self.request)
        rows = filterset.qs
        sort = self.request.GET.get("sort", self.default_sort)
        key = sort.lstrip("-")
        if key not in self.sort_fields:
            sort, key = self.default_sort, self.default_sort.lstrip("-")
        rows = rows.order_by(("-" if sort.startswith("-") else "") + self.sort_fields[key], "pk")
        page = Paginator(rows, self.paginate_by).get_page(self.request.GET.get("page"))
        context.update(
            filter=filterset,
            page_obj=page,
            rows=page.object_list,
            sort=sort,
            title=self.title,
            columns=[
                {"label": label, "sort": param, "active": key == param, "descending": sort.startswith("-")}
                for param, label in self.columns
            ],
            can_create=bool(self.create_capability) and user_can(self.request.user, self.create_capability),
            create_url_name=self.create_url_name,
        )
        return context


class HomeView(LoginRequiredMixin, TemplateView):
    """The start page: what the user's roles let them open (the same entries as the menu)."""

    template_name = "common/home.html"


class AuditListView(CapabilityRequiredMixin, TemplateView):
    capability = "audit.view"
    template_name = "common/audit_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        entries = audit_entry_list()
        query = self.request.GET.get("q", "").strip()
        if query:
            entries = entries.filter(object_repr__icontains=query)
        context["page_obj"] = Paginator(entries, 50).get_page(self.request.GET.get("page"))
        context["title"] = _("Audit trail")
        context["q"] = query
        return context


@never_cache
def healthz(request):
    """Database and broker health for load balancers and monitoring: 200 when both answer, else 503."""
    database = database_health()
    broker = broker_health()
    healthy = database["ok"] and broker["ok"]
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": database,
        "broker": broker,
        "worker": worker_heartbeat() if database["ok"] else {"last_seen": None},
    }
    return JsonResponse(body, status=200 if healthy else 503)
