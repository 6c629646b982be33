"""Subscriptions: validation, generated secrets, and an audit trail that never shows the secret."""

import pytest
from django.core.exceptions import ValidationError

from o2c.common.audit import audit_trail_for
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditAction
from o2c.outbox.delivery import subscription_create, subscription_update
from o2c.outbox.models import SubscriptionKind, WebhookSubscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(role_user):
    return role_user("admin")


def test_a_webhook_gets_a_generated_secret_that_stays_out_of_the_audit_trail(admin):
    subscription = subscription_create(
        actor=admin, via="web", name="ERP", url="https://erp.example.com/hooks", event_types=[" order.cancelled "]
    )

    assert len(subscription.secret) >= 40
    assert subscription.event_types == ["order.cancelled"]
    entry = audit_trail_for(subscription).get()
    assert entry.action == AuditAction.CREATE
    assert entry.changes["url"] == [None, "https://erp.example.com/hooks"]
    assert "secret" not in entry.changes
    assert subscription.secret not in str(entry.changes)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "", "event_types": ["*"]}, "url"),
        ({"url": "ftp://example.com/x", "event_types": ["*"]}, "url"),
        ({"url": "not a url", "event_types": ["*"]}, "url"),
        ({"url": "https://example.com/x", "event_types": []}, "event_types"),
        ({"url": "https://example.com/x", "event_types": ["order.cancelled", ""]}, "event_types"),
        ({"url": "https://example.com/x", "event_types": "order.cancelled"}, "event_types"),
        ({"url": "https://example.com/x", "event_types": ["*"], "max_attempts": 0}, "__all__"),
    ],
)
def test_invalid_subscriptions_are_refused_with_the_field_named(admin, data, field):
    with pytest.raises(ValidationError) as refused:
        subscription_create(actor=admin, name="X", **data)
    assert field in refused.value.message_dict
    assert not WebhookSubscription.objects.exists()


def test_an_email_subscription_needs_no_url_and_keeps_none(admin):
    subscription = subscription_create(
        actor=admin,
        name="Sales reps",
        kind=SubscriptionKind.SALES_REP_EMAIL,
        url="https://ignored.example.com",
        event_types=["order.cancelled"],
    )
    assert subscription.url == ""


def test_only_admins_manage_subscriptions(role_user):
    with pytest.raises(ApplicationError) as refused:
        subscription_create(actor=role_user("finance"), name="X", url="https://x.example.com", event_types=["*"])
    assert refused.value.code == ErrorCode.PERMISSION_DENIED


def test_an_update_is_audited_and_an_empty_secret_makes_a_new_one(admin):
    subscription = subscription_create(actor=admin, name="ERP", url="https://erp.example.com", event_types=["*"])
    old_secret = subscription.secret

    subscription = subscription_update(
        subscription=subscription, actor=admin, via="web", event_types=["order.cancelled"], max_attempts=3
    )
    changed = audit_trail_for(subscription).filter(action=AuditAction.CHANGE).get()
    assert changed.changes == {"event_types": ["['*']", "['order.cancelled']"], "max_attempts": [8, 3]}
    assert subscription.secret == old_secret

    subscription = subscription_update(subscription=subscription, actor=admin, secret="")
    assert subscription.secret and subscription.secret != old_secret
    rotated = audit_trail_for(subscription).filter(action=AuditAction.CHANGE).first()  # newest first
    assert (rotated.changes, rotated.note) == ({}, "Signing secret replaced.")
    assert subscription.secret not in str(list(audit_trail_for(subscription).values_list("changes", "note")))


def test_an_update_cannot_touch_fields_outside_the_form(admin):
    subscription = subscription_create(actor=admin, name="ERP", url="https://erp.example.com", event_types=["*"])
    with pytest.raises(ValidationError) as refused:
        subscription_update(subscription=subscription, actor=admin, created_at=None)
    assert "created_at" in refused.value.message_dict
