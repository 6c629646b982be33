from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    CHANGE = "change", _("Changed")
    TRANSITION = "transition", _("Status changed")


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The audit trail is append-only.")

    def delete(self):
        raise TypeError("The audit trail is append-only.")


class AuditEntry(models.Model):
    """Who changed what on a business record, and when: append-only.

    The database refuses UPDATE and DELETE on this table (migration common/0003), so not even a
    bug or a shell session can rewrite history.
    """

    # No index of its own (audit_record_idx starts with it) and no database constraint (content types
    # are never deleted; the check locked one row from every transaction that writes an entry).
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, verbose_name=_("record type"), db_index=False, db_constraint=False
    )
    object_id = models.CharField(_("record id"), max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    # {"field": [old, new]} for changes and transitions; {"field": [None, value]} for creation.
    changes = models.JSONField(_("changes"), default=dict)
    note = models.TextField(_("note"), blank=True)
    # No database constraint: an e-order writes four entries, and the constraint's check locked the
    # acting user's row from every transaction (users are deactivated, never deleted).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("by"),
        db_constraint=False,
    )
    # Who acted when there is no user (a Celery job, load_demo) or how (API token vs. browser).
    via = models.CharField(_("via"), max_length=40, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-at"], name="audit_record_idx")]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit trail is append-only.")


class Heartbeat(models.Model):
    """When a background process last proved it was alive (shown by /healthz)."""

    name = models.CharField(max_length=40, primary_key=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} {self.last_seen:%Y-%m-%d %H:%M:%S}"


class IdempotencyKey(models.Model):
    """A stored API response, replayed when an API client retries with the same Idempotency-Key.

    Keys are scoped to the client (user) and expire after 24 hours (Stripe's semantics). The row is
    written in the same transaction as the effect of the request, so a concurrent retry waits on
    the unique index until the first request commits, then replays its response.
    """

    # The unique (client, key) index serves lookups by client; no constraint check per request.
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    # The JSON text of the first answer, as DRF's JSONRenderer wrote it: a replay sends these
    # bytes again (a jsonb column gave them back with its own key order and spacing).
    response_body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="idempotency_client_key_uniq")]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.key}"
