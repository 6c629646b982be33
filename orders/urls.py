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
    path("orders/", views.OrderListView.as_view(), name="order_list"),
    path("orders/new/", views.OrderCreateView.as_view(), name="order_create"),
    path("orders/new/lines/", views.OrderEntryLinesView.as_view(), name="order_entry_lines"),
    path("orders/new/customers/", views.OrderEntryCustomerSearchView.as_view(), name="order_entry_customers"),
    path(
        "orders/new/customers/<int:pk>/",
        views.OrderEntryCustomerChooseView.as_view(),
        name="order_entry_customer_choose",
    ),
    path("orders/new/products/", views.OrderEntryProductSearchView.as_view(), name="order_entry_products"),
    path("orders/<int:pk>/", views.OrderDetailView.as_view(), name="order_detail"),
    path("orders/<int:pk>/cancel/", views.OrderCancelView.as_view(), name="order_cancel"),
    path("orders/<int:pk>/holds/", views.OrderHoldAddView.as_view(), name="order_hold_add"),
    path("orders/holds/<int:pk>/met/", views.OrderHoldSatisfyView.as_view(), name="order_hold_satisfy"),
]
