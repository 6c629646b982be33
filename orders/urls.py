from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("customers/", views.CustomerListView.as_view(), name="customer_list"),
    path("customers/new/", views.CustomerCreateView.as_view(), name="customer_create"),
    path("customers/<int:pk>/", views.CustomerDetailView.as_view(), name="customer_detail"),
    path("customers/<int:pk>/edit/", views.CustomerEditView.as_view(), name="customer_edit"),
    path("customers/<int:pk>/block/", views.CustomerStatusView.as_view(action="block"), name="customer_block"),
    path("customers/<int:pk>/unblock/", views.CustomerStatusView.as_view(action="unblock"), name="customer_unblock"),
    path("products/", views.ProductListView.as_view(), name="product_list"),
    path("products/new/", views.ProductCreateView.as_view(), name="product_create"),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="product_detail"),
    path("products/<int:pk>/edit/", views.ProductEditView.as_view(), name="product_edit"),
    path("company/", views.CompanyDetailView.as_view(), name="company_detail"),
    path("company/edit/", views.CompanyEditView.as_view(), name="company_edit"),
    path("vat/", views.VatListView.as_view(), name="vat_list"),
]
