import django_filters
from django.utils.translation import gettext_lazy as _

from .models import Delivery, WebhookSubscription
from .selectors import subscription_list


class SubscriptionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))

    class Meta:
        model = WebhookSubscription
        fields = ["q", "kind", "is_active"]

    def search(self, queryset, name, value):
        return queryset.filter(pk__in=subscription_list(search=value).values("pk"))


class DeliveryFilter(django_filters.FilterSet):
    event_type = django_filters.CharFilter(field_name="event__event_type", label=_("Event"))

    class Meta:
        model = Delivery
        fields = ["status", "event_type"]
