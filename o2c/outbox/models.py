import secrets

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxEvent(models.Model):
    """A business event, written in the same transaction as the change it announces.

    Because the row commits or rolls back with the change, an event is never announced for a
    change that did not happen, and never lost for one that did, whatever the broker is doing.
    """

    event_type = models.CharField(_("event"), max_length=64)
    aggregate_type = models.CharField(_("record type"), max_length=40)
    aggregate_id = models.CharField(_("record id"), max_length=64)
    payload = models.JSONField(_("payload"))
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    # No database constraint: its check locked the acting user's row from every transaction.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    # Set when the event has been fanned out into deliveries; pending events have none.
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["aggregate_type", "aggregate_id", "id"], name="outbox_aggregate_idx"),
            models.Index(fields=["id"], condition=Q(dispatched_at__isnull=True), name="outbox_pending_idx"),
        ]
        verbose_name = _("event")
        verbose_name_plural = _("events")

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_type}:{self.aggregate_id}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class SubscriptionKind(models.TextChoices):
    WEBHOOK = "webhook", _("Webhook")
    SALES_REP_EMAIL = "sales_rep_email", _("Email to the sales rep")


class WebhookSubscription(models.Model):
    """Someone who wants to hear about events: a URL we POST signed JSON to, or the record's sales rep by email."""

    ALL_EVENTS = "*"

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=20, choices=SubscriptionKind.choices, default=SubscriptionKind.WEBHOOK
    )
    url = models.CharField(_("URL"), max_length=500, blank=True, validators=[URLValidator(schemes=["http", "https"])])
    # Shared with the receiver, who checks X-O2C-Signature with it. Never shown in the audit trail.
    secret = models.CharField(_("signing secret"), max_length=100, default=new_secret)
    event_types = models.JSONField(_("event types"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    max_attempts = models.PositiveSmallIntegerField(_("maximum attempts"), default=8)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(max_attempts__gte=1), name="outbox_subscription_attempts_min"),
            models.CheckConstraint(
                condition=~Q(kind="webhook") | ~Q(url=""), name="outbox_subscription_webhook_has_url"
            ),
        ]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("outbox:subscription_detail", args=[self.pk])

    def wants(self, event_type: str) -> bool:
        return self.ALL_EVENTS in self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One event on its way to one subscriber: retried with backoff until delivered or out of attempts."""

    # Sending moves pending to delivered or failed; only a person's redelivery moves a finished one back.
    ALLOWED_TRANSITIONS = {
        DeliveryStatus.PENDING: {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED},
        DeliveryStatus.DELIVERED: {DeliveryStatus.PENDING},
        DeliveryStatus.FAILED: {DeliveryStatus.PENDING},
    }

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event"))
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("subscription")
    )
    status = models.CharField(
        _("status"), max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # A sender owns a claimed delivery until then; after it a crashed sender's claim is taken over.
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="outbox_delivery_event_subscription_uniq"),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="outbox_delivery_delivered_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_delivery_due_idx")]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"{self.event.event_type} #{self.event_id} → {self.subscription.name}"

    def get_absolute_url(self) -> str:
        return reverse("outbox:delivery_detail", args=[self.pk])


class DeliveryAttempt(models.Model):
    """The delivery log: one row per try, whatever came of it."""

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("delivery")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def succeeded(self) -> bool:
        return not self.error
