from django.urls import path

from . import views_stock

urlpatterns = [
    path("stock/", views_stock.StockListView.as_view(), name="stock_list"),
    path("stock/receive/", views_stock.StockReceiveView.as_view(), name="stock_receive"),
    path("stock/<int:pk>/", views_stock.StockDetailView.as_view(), name="stock_detail"),
    path("stock/<int:pk>/receive/", views_stock.StockItemReceiveView.as_view(), name="stock_item_receive"),
    path("stock/<int:pk>/count/", views_stock.StockItemCountView.as_view(), name="stock_item_count"),
    path("release/", views_stock.ReleaseListView.as_view(), name="release_list"),
    path("release/delays/", views_stock.ReleaseDelayView.as_view(), name="release_delays"),
    path("release/<int:pk>/", views_stock.ReleaseRescheduleView.as_view(), name="release_reschedule"),
]
