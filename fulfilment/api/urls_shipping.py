from rest_framework.routers import SimpleRouter

from .shipments import ShipmentViewSet

router = SimpleRouter()
router.register("shipments", ShipmentViewSet, basename="shipment")

urlpatterns = router.urls
