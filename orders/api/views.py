from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from o2c.common.api_errors import ApiErrorSerializer
from o2c.common.idempotency import idempotent

from .. import services
from ..filters import CustomerFilter, OrderFilter, ProductFilter
from ..selectors import customer_list, order_get, order_list_detailed, product_list
from .serializers import (
    CancelSerializer,
    CustomerSerializer,
    OrderCreateSerializer,
    OrderSerializer,
    ProductSerializer,
    ReasonSerializer,
    order_create_input,
    order_representation,
)

CUSTOMER_EXAMPLE = OpenApiExample(
    "Swedish business customer",
    value={
        "name": "Fjällbacka Bygg AB",
        "country": "SE",
        "org_number": "556036-0793",
        "vat_number": "SE556036079301",
        "billing_street": "Storgatan 1",
        "billing_postal_code": "457 40",
        "billing_city": "Fjällbacka",
        "invoice_email": "faktura@fjallbackabygg.se",
        "language": "sv",
        "currency": "SEK",
        "peppol_endpoint": "0007:5560360793",
    },
    request_only=True,
)


class CreateListRetrieveUpdateViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Master data is never deleted over the API: it is referenced by documents accounting keeps."""


@extend_schema_view(
    list=extend_schema(summary="List customers", description="Search with `q`; filter and sort with the parameters."),
    create=extend_schema(summary="Create a customer", examples=[CUSTOMER_EXAMPLE]),
    retrieve=extend_schema(summary="Get a customer"),
    update=extend_schema(summary="Replace a customer's fields"),
    partial_update=extend_schema(summary="Change some of a customer's fields"),
)
class CustomerViewSet(CreateListRetrieveUpdateViewSet):
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    ordering_fields = ["number", "name", "credit_limit", "created_at"]
    ordering = ["number"]
    read_capability = "customer.view"
    write_capability = "customer.edit"
    action_capabilities = {"block": "customer.edit_credit", "unblock": "customer.edit_credit"}

    def get_queryset(self):
        return customer_list()

    def perform_create(self, serializer):
        serializer.instance = services.customer_create(actor=self.request.user, via="api", **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.customer_update(
            customer=serializer.instance, actor=self.request.user, via="api", **serializer.validated_data
        )

    @extend_schema(request=ReasonSerializer, responses=CustomerSerializer, summary="Block a customer")
    @action(detail=True, methods=["post"])
    def block(self, request, pk=None):
        reason = ReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        customer = services.customer_block(
            customer=self.get_object(), reason=reason.validated_data["reason"], actor=request.user, via="api"
        )
        return Response(CustomerSerializer(customer).data)

    @extend_schema(request=ReasonSerializer, responses=CustomerSerializer, summary="Unblock a customer")
    @action(detail=True, methods=["post"])
    def unblock(self, request, pk=None):
        reason = ReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        customer = services.customer_unblock(
            customer=self.get_object(), reason=reason.validated_data["reason"], actor=request.user, via="api"
        )
        return Response(CustomerSerializer(customer).data)


@extend_schema_view(
    list=extend_schema(summary="List products"),
    create=extend_schema(summary="Create a product"),
    retrieve=extend_schema(summary="Get a product"),
    update=extend_schema(summary="Replace a product's fields"),
    partial_update=extend_schema(summary="Change some of a product's fields"),
)
class ProductViewSet(CreateListRetrieveUpdateViewSet):
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    ordering_fields = ["sku", "name", "unit_price", "created_at"]
    ordering = ["sku"]
    read_capability = "product.view"
    write_capability = "product.edit"

    def get_queryset(self):
        return product_list()

    def perform_create(self, serializer):
        serializer.instance = services.product_create(actor=self.request.user, via="api", **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.product_update(
            product=serializer.instance, actor=self.request.user, via="api", **serializer.validated_data
        )


ORDER_EXAMPLE = OpenApiExample(
    "Web shop order",
    value={
        "customer": "10001",
        "channel": "webshop",
        "external_reference": "WS-100234",
        "customer_reference": "Anna Svensson",
        "requested_delivery_date": "2026-12-15",
        "lines": [
            {"sku": "HP-AIR-8", "quantity": "1"},
            {"sku": "FILTER-STD", "quantity": "4", "discount_percent": "10"},
            {"sku": "HANDBOOK", "quantity": "1"},
        ],
    },
    request_only=True,
)
VALIDATION_ERROR_EXAMPLE = OpenApiExample(
    "Invalid lines",
    value={
        "error": {
            "code": "validation_error",
            "message": "The request has invalid fields; see 'fields'.",
            "fields": {
                "lines[2].sku": ["No active product with SKU 'NOPE'."],
                "lines[0].quantity": ["The quantity must be more than 0."],
            },
        }
    },
    response_only=True,
    status_codes=["400"],
)
CONFLICT_EXAMPLE = OpenApiExample(
    "Repeated external reference",
    value={
        "error": {
            "code": "conflict",
            "message": "Channel webshop already sent order WS-100234: it is order 1042.",
            "order": {"id": 42, "number": 1042},
        }
    },
    response_only=True,
    status_codes=["409"],
)
CANCEL_EXAMPLE = OpenApiExample(
    "Cancel with a reason",
    value={"reason": "The customer ordered the wrong model."},
    request_only=True,
)
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID) per order. A retry with the same key and body returns the first "
    "response and creates nothing; the same key with another body gets 422. Keys expire after 24 h.",
)


@extend_schema_view(
    list=extend_schema(
        summary="List orders",
        description="Filter by status (repeatable), customer, channel, "
        "sales rep, external reference and order date; search with `q`.",
    ),
    retrieve=extend_schema(summary="Get an order"),
)
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    ordering_fields = ["number", "order_date", "gross_amount", "created_at"]
    ordering = ["-number"]
    read_capability = "order.view"
    action_capabilities = {"create": "order.create", "cancel": "order.cancel"}

    def get_queryset(self):
        return order_list_detailed()

    @extend_schema(
        summary="Create an e-order",
        request=OrderCreateSerializer,
        responses={
            201: OrderSerializer,
            400: OpenApiResponse(ApiErrorSerializer, description="Invalid fields, with paths"),
            409: OpenApiResponse(ApiErrorSerializer, description="The channel's external reference was already used"),
            411: OpenApiResponse(ApiErrorSerializer, description="Body sent chunked without a Content-Length"),
            413: OpenApiResponse(ApiErrorSerializer, description="Body over 1 MB"),
            422: OpenApiResponse(ApiErrorSerializer, description="Idempotency-Key reused with another body"),
        },
        parameters=[IDEMPOTENCY_HEADER],
        examples=[ORDER_EXAMPLE, VALIDATION_ERROR_EXAMPLE, CONFLICT_EXAMPLE],
    )
    def create(self, request):
        def handler() -> Response:
            order = services.order_create(actor=request.user, via="api", **order_create_input(request.data))
            # order_create returns the order as saved, with its lines and holds: nothing to read back.
            return Response(order_representation(order), status=status.HTTP_201_CREATED)

        return idempotent(request, handler)

    @extend_schema(
        summary="Cancel an order",
        description="Possible until the order reaches the warehouse; the reason is kept on the order.",
        request=CancelSerializer,
        responses={
            200: OrderSerializer,
            400: OpenApiResponse(ApiErrorSerializer, description="No reason given"),
            409: OpenApiResponse(ApiErrorSerializer, description="Cancelled already, or in the warehouse"),
        },
        parameters=[IDEMPOTENCY_HEADER],
        examples=[CANCEL_EXAMPLE],
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = self.get_object()

        def handler() -> Response:
            serializer = CancelSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            services.order_cancel(
                order=order, reason=serializer.validated_data["reason"], actor=request.user, via="api"
            )
            return Response(order_representation(order_get(pk=order.pk)))

        return idempotent(request, handler)
