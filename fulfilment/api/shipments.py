"""Shipments over REST: what left the warehouse, in which packages, with which tracking number."""

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from ..models import Package, Shipment, ShipmentLine, ShipmentStatus
from ..selectors.shipping import shipment_get_detailed


class ShipmentFilter(django_filters.FilterSet):
    order = django_filters.NumberFilter(field_name="order__number", label=_("Order number"))
    status = django_filters.ChoiceFilter(choices=ShipmentStatus.choices, label=_("Status"))
    carrier = django_filters.CharFilter(field_name="carrier", lookup_expr="iexact", label=_("Carrier"))
    ship_date_from = django_filters.DateFilter(field_name="ship_date", lookup_expr="gte", label=_("Shipped from"))
    ship_date_to = django_filters.DateFilter(field_name="ship_date", lookup_expr="lte", label=_("Shipped to"))

    class Meta:
        model = Shipment
        fields = ["order", "status", "carrier", "ship_date_from", "ship_date_to"]


class ShipmentLineSerializer(serializers.ModelSerializer):
    order_line = serializers.IntegerField(source="order_line_id", read_only=True)
    position = serializers.IntegerField(source="order_line.position", read_only=True)
    sku = serializers.CharField(source="order_line.product.sku", read_only=True)
    description = serializers.CharField(source="order_line.description", read_only=True)

    class Meta:
        model = ShipmentLine
        fields = ["order_line", "position", "sku", "description", "quantity"]


class PackageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Package
        fields = ["reference", "weight_kg"]


class ShipmentSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(source="order.number", read_only=True)
    order_id = serializers.IntegerField(read_only=True)
    customer = serializers.CharField(source="order.customer.number", read_only=True)
    lines = ShipmentLineSerializer(many=True, read_only=True)
    packages = PackageSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "order",
            "order_id",
            "customer",
            "status",
            "carrier",
            "tracking_number",
            "ship_date",
            "created_at",
            "shipped_at",
            "lines",
            "packages",
        ]


@extend_schema_view(
    list=extend_schema(
        summary="List shipments",
        description="Filter by order number (`order`), `status`, `carrier` and ship date "
        "(`ship_date_from`, `ship_date_to`); each shipment comes with its lines, packages and tracking number.",
    ),
    retrieve=extend_schema(summary="Get a shipment with its lines, packages and tracking number"),
)
class ShipmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ShipmentSerializer
    filterset_class = ShipmentFilter
    ordering_fields = ["id", "ship_date", "created_at"]
    ordering = ["-id"]
    search_fields = ["tracking_number"]
    read_capability = "order.view"

    def get_queryset(self):
        return shipment_get_detailed()
