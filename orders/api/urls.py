from rest_framework.routers import SimpleRouter

from .views import CustomerViewSet, OrderViewSet, ProductViewSet

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("products", ProductViewSet, basename="product")
router.register("orders", OrderViewSet, basename="order")

urlpatterns = router.urls
