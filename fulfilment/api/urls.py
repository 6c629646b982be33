from .urls_shipping import urlpatterns as shipping_urlpatterns
from .urls_stock import urlpatterns as stock_urlpatterns

urlpatterns = [*stock_urlpatterns, *shipping_urlpatterns]
