from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..filters import CustomerFilter, ProductFilter
from ..selectors import customer_list, product_list
from .serializers import CustomerSerializer, ProductSerializer, ReasonSerializer

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
