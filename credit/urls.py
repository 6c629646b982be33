from django.urls import path

from . import views

app_name = "credit"

urlpatterns = [
    path("orders/<int:pk>/release/", views.CreditHoldReleaseView.as_view(), name="order_release"),
]
