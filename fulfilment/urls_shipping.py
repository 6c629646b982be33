from django.urls import path

from . import views_returns
from . import views_shipping as views

urlpatterns = [
    path("", views.QueueView.as_view(), name="queue"),
    path("scan/", views.ScanView.as_view(), name="scan"),
    path("pick-lists/batch/", views.PickListBatchView.as_view(), name="pick_list_batch"),
    path("pick-lists/batch/pdf/", views.PickListBatchPdfView.as_view(), name="pick_list_batch_pdf"),
    path(
        "pick-lists/batch/pdf/<int:pk>/",
        views.PickListBatchPdfStatusView.as_view(),
        name="pick_list_batch_pdf_status",
    ),
    path(
        "pick-lists/batch/pdf/<int:pk>/file/", views.PickListBatchPdfFileView.as_view(), name="pick_list_batch_pdf_file"
    ),
    path("pick-lists/<int:pk>/", views.PickListView.as_view(), name="pick_list"),
    path("pick-lists/<int:pk>/pdf/", views.PickListPdfView.as_view(), name="pick_list_pdf"),
    path("pick-lists/<int:pk>/pack/", views.PackView.as_view(), name="pick_list_pack"),
    path("shipments/<int:pk>/", views.ShipmentView.as_view(), name="shipment"),
    path("returns/", views_returns.ReturnListView.as_view(), name="return_list"),
    path("returns/new/", views_returns.ReturnOrderLookupView.as_view(), name="return_order_lookup"),
    path("returns/<int:pk>/", views_returns.ReturnDetailView.as_view(), name="return_detail"),
    path("orders/<int:order_pk>/return/", views_returns.ReturnCreateView.as_view(), name="return_create"),
    path("order-lines/<int:pk>/cancel/", views_returns.LineCancelView.as_view(), name="line_cancel"),
]
