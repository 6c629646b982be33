from rest_framework.routers import SimpleRouter

from .stock import StockLevelViewSet

router = SimpleRouter()
router.register("stock-levels", StockLevelViewSet, basename="stock-level")

urlpatterns = router.urls
