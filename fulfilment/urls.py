"""Warehouse pages. Stock and release pages (urls_stock.py) and picking, packing, shipping and
returns (urls_shipping.py) are kept apart so each can grow on its own."""

from .urls_shipping import urlpatterns as shipping_urlpatterns
from .urls_stock import urlpatterns as stock_urlpatterns

app_name = "fulfilment"

urlpatterns = [*stock_urlpatterns, *shipping_urlpatterns]
