"""Stock levels over REST: a warehouse system (WMS) reports its counts; anyone with stock.view reads."""

import django_filters
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from o2c.common.api_errors import ApiErrorSerializer
from o2c.common.idempotency import idempotent

from ..forms_stock import StockFilter
from ..models import QUANTITY, StockItem
from ..selectors.stock import stock_item_list
from ..services.wms import MAX_COUNTS, CountInput, stock_counts_apply


class StockLevelSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")
    warehouse = serializers.CharField(source="warehouse.code")
    bin = serializers.CharField(source="bin_location")
    available = serializers.DecimalField(source="available_quantity", **QUANTITY)
    backordered = serializers.DecimalField(source="backordered_quantity", **QUANTITY)

    class Meta:
        model = StockItem
        fields = ["sku", "name", "warehouse", "bin", "on_hand", "reserved", "available", "backordered"]


class StockCountInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=40)
    # Negative counts are refused by the service, with the other counts' errors.
    on_hand = serializers.DecimalField(**QUANTITY, help_text='The quantity on the shelf, as a string: "12".')
    bin = serializers.CharField(
        max_length=20,
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text="The item's bin location. Left out or null: the bin stays as it is.",
    )


class StockReportSerializer(serializers.Serializer):
    counts = StockCountInputSerializer(many=True, help_text=f"1 to {MAX_COUNTS} counts.")
    reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="The WMS's id of this count."
    )

    def validate_counts(self, counts: list[dict]) -> list[dict]:
        # Here, not as the list's own limits: those report under `counts.non_field_errors`.
        if not counts:
            raise serializers.ValidationError(_("Report at least one count."))
        if len(counts) > MAX_COUNTS:
            raise serializers.ValidationError(_("Report at most %(max)d counts at a time.") % {"max": MAX_COUNTS})
        return counts

    def service_kwargs(self) -> dict:
        data = self.validated_data
        return {
            "counts": [
                CountInput(sku=count["sku"], counted=count["on_hand"], bin_location=count["bin"])
                for count in data["counts"]
            ],
            "reference": data["reference"],
        }


class StockReportResultSerializer(serializers.Serializer):
    reference = serializers.CharField()
    counted = serializers.IntegerField(help_text="How many counts were applied.")
    items = StockLevelSerializer(many=True)


class StockLevelFilter(StockFilter):
    sku = django_filters.CharFilter(field_name="product__sku", label=_("SKU"))
    ordering = django_filters.OrderingFilter(
        fields=(
            ("product__sku", "sku"),
            ("bin_location", "bin"),
            ("on_hand", "on_hand"),
            ("reserved", "reserved"),
            ("available_quantity", "available"),
            ("backordered_quantity", "backordered"),
        )
    )

    class Meta(StockFilter.Meta):
        fields = ["q", "sku", "bin", "nothing_available", "has_backorders"]


REPORT_EXAMPLE = OpenApiExample(
    "Nightly count from the WMS",
    value={
        "reference": "WMS-2026-11-24",
        "counts": [
            {"sku": "HP-AIR-8", "on_hand": "6", "bin": "A-01-1"},
            {"sku": "FILTER-STD", "on_hand": "187"},
        ],
    },
    request_only=True,
)
REPORT_RESULT_EXAMPLE = OpenApiExample(
    "Counts applied",
    value={
        "reference": "WMS-2026-11-24",
        "counted": 2,
        "items": [
            {
                "sku": "HP-AIR-8",
                "name": "Luft/vatten-värmepump 8 kW",
                "warehouse": "main",
                "bin": "A-01-1",
                "on_hand": "6.000",
                "reserved": "6.000",
                "available": "0.000",
                "backordered": "1.000",
            },
            {
                "sku": "FILTER-STD",
                "name": "Filter standard",
                "warehouse": "main",
                "bin": "C-01-1",
                "on_hand": "187.000",
                "reserved": "12.000",
                "available": "175.000",
                "backordered": "0.000",
            },
        ],
    },
    response_only=True,
    status_codes=["200"],
)
REPORT_ERROR_EXAMPLE = OpenApiExample(
    "Invalid counts",
    value={
        "error": {
            "code": "validation_error",
            "message": "The request has invalid fields; see 'fields'.",
            "fields": {
                "counts[3].sku": ["No product with SKU 'NOPE'."],
                "counts[0].on_hand": ["A count cannot be negative."],
            },
        }
    },
    response_only=True,
    status_codes=["400"],
)
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID) per report. A retry with the same key and body returns the first "
    "response and counts nothing again; the same key with another body gets 422. Keys expire after 24 h.",
)


@extend_schema_view(
    list=extend_schema(
        summary="List stock levels",
        description="On hand, reserved, available (on hand less reserved) and backordered (what open orders "
        "still wait for) per item. Search SKU and name with `q`; filter by `sku`, `bin` (prefix), "
        "`has_backorders`, `nothing_available`; sort with `ordering` (sku, bin, on_hand, reserved, available, "
        "backordered; `-` for descending).",
    ),
)
class StockLevelViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = StockLevelSerializer
    filterset_class = StockLevelFilter
    # Sorting is the filterset's `ordering`, with the public field names.
    filter_backends = [DjangoFilterBackend]
    read_capability = "stock.view"
    write_capability = "stock.edit"

    def get_queryset(self):
        return stock_item_list().order_by("product__sku", "pk")

    @extend_schema(
        summary="Report stock counts (WMS)",
        description=f"Sets each SKU's on-hand quantity to the counted one, all counts in one transaction: "
        f"any error and nothing is counted. At most {MAX_COUNTS} counts. A count below what is reserved "
        f"turns the newest orders' reservations back into backorders; a count above fills waiting "
        f"backorders, oldest order first. Every error comes back at once with its path "
        f"(`counts[3].sku`, `counts[0].on_hand`).",
        request=StockReportSerializer,
        responses={
            200: StockReportResultSerializer,
            400: OpenApiResponse(ApiErrorSerializer, description="Invalid counts, with paths"),
            422: OpenApiResponse(ApiErrorSerializer, description="Idempotency-Key reused with another body"),
        },
        parameters=[IDEMPOTENCY_HEADER],
        examples=[REPORT_EXAMPLE, REPORT_RESULT_EXAMPLE, REPORT_ERROR_EXAMPLE],
    )
    def create(self, request):
        def handler() -> Response:
            serializer = StockReportSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            kwargs = serializer.service_kwargs()
            items = stock_counts_apply(actor=request.user, **kwargs)
            levels = {item.pk: item for item in stock_item_list().filter(pk__in=[item.pk for item in items])}
            result = {
                "reference": kwargs["reference"],
                "counted": len(items),
                "items": [levels[item.pk] for item in items],
            }
            return Response(StockReportResultSerializer(result).data)

        return idempotent(request, handler)
