from django.urls import path

from . import views

app_name = "outbox"

urlpatterns = [
    path("", views.SubscriptionListView.as_view(), name="subscription_list"),
    path("new/", views.SubscriptionCreateView.as_view(), name="subscription_create"),
    path("<int:pk>/", views.SubscriptionDetailView.as_view(), name="subscription_detail"),
    path("<int:pk>/edit/", views.SubscriptionEditView.as_view(), name="subscription_edit"),
    path("deliveries/<int:pk>/", views.DeliveryDetailView.as_view(), name="delivery_detail"),
    path("deliveries/<int:pk>/redeliver/", views.DeliveryRedeliverView.as_view(), name="delivery_redeliver"),
]
