from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated

from o2c.common import views as common_views

urlpatterns = [
    # The API first: a URL is tried against each pattern in turn, and e-orders are most of the traffic.
    path("api/v1/", include("orders.api.urls")),
    path("api/v1/", include("fulfilment.api.urls")),
    path("api/v1/", include("invoicing.api.urls")),
    path("", common_views.HomeView.as_view(), name="home"),
    path("healthz", common_views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("audit/", common_views.AuditListView.as_view(), name="audit_list"),
    path("", include("orders.urls")),
    path("integrations/", include("o2c.outbox.urls")),
    path("credit/", include("credit.urls")),
    path("warehouse/", include("fulfilment.urls")),
    path("invoices/", include("invoicing.urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[IsAuthenticated]),
        name="api_docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", permission_classes=[IsAuthenticated]),
        name="api_redoc",
    ),
    path("admin/", admin.site.urls),
]
