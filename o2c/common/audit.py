"""Writing the audit trail. Every service that creates or changes a business record calls one of these."""

import datetime
import json
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from .db import bulk_insert, chain_defer, chain_execute, chain_flush, insert_statement, new_row
from .models import AuditAction, AuditEntry


def _jsonable(value):
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or None
    return str(value)


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict:
    """The audited state of a record: concrete field values, foreign keys by their text."""
    values = {}
    for field in instance._meta.concrete_fields:
        if field.primary_key or (fields is not None and field.name not in fields):
            continue
        if field.name in ("created_at", "updated_at"):
            continue
        value = getattr(instance, field.name)
        values[field.name] = _jsonable(value)
    return values


def _actor_and_via(actor: User | AnonymousUser | None, via: str) -> tuple[User | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, via or "system"
    return actor, via


def audit_record(
    *,
    instance: models.Model,
    action: AuditAction,
    changes: dict,
    actor: User | None,
    via: str = "",
    note: str = "",
) -> AuditEntry:
    """Write one audit entry in the caller's transaction.

    Inside a chain of services (o2c.common.db.service_atomic) the entries are written together,
    in one INSERT, when the chain ends; the entry returned gets its id then.
    """
    user, via = _actor_and_via(actor, via)
    entry = new_row(
        AuditEntry,
        content_type=ContentType.objects.get_for_model(instance, for_concrete_model=False),
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        action=action,
        changes=changes,
        note=note,
        actor=user,
        via=via[:40],
    )
    pending = chain_defer("audit_entries", _audit_entries_write)
    if pending is None:
        entry.save(force_insert=True)
    else:
        pending.append(entry)
    return entry


def _audit_entries_write(entries: list[AuditEntry]) -> None:
    # One INSERT with the chain's other end-of-chain writes (o2c.common.db.chain_execute).
    chain_execute(*insert_statement(AuditEntry, entries))


def audit_created(*, instance: models.Model, actor: User | None, via: str = "", note: str = "") -> AuditEntry:
    changes = {name: [None, value] for name, value in snapshot(instance).items() if value not in (None, "")}
    return audit_record(instance=instance, action=AuditAction.CREATE, changes=changes, actor=actor, via=via, note=note)


def audit_changed(
    *, instance: models.Model, before: dict, actor: User | None, via: str = "", note: str = ""
) -> AuditEntry | None:
    """Record what differs between `before` (a snapshot) and the instance now; nothing if nothing did."""
    after = snapshot(instance, list(before))
    changes = {name: [before[name], after[name]] for name in before if before[name] != after[name]}
    if not changes:
        return None
    return audit_record(instance=instance, action=AuditAction.CHANGE, changes=changes, actor=actor, via=via, note=note)


def audit_transition(
    *, instance: models.Model, field: str, old: str, new: str, actor: User | None, via: str = "", note: str = ""
) -> AuditEntry:
    return audit_record(
        instance=instance, action=AuditAction.TRANSITION, changes={field: [old, new]}, actor=actor, via=via, note=note
    )


def audit_trail_for(instance: models.Model):
    """The entries of one record, newest first, with their actors."""
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(instance, for_concrete_model=False),
        object_id=str(instance.pk),
    ).select_related("actor", "content_type")


def audit_transitions_bulk(
    *,
    model: type[models.Model],
    object_ids: list,
    reprs: list[str],
    field: str,
    old: str,
    new: str,
    actor: User | None,
    via: str = "",
    note: str = "",
) -> None:
    """The same status change on many records, in one INSERT (batch jobs such as the pick release)."""
    if not object_ids:
        return
    user, via = _actor_and_via(actor, via)
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    changes = json.dumps({field: [old, new]})
    now = timezone.now()
    chain_flush("audit_entries")  # entries keep the order they were written in
    bulk_insert(
        AuditEntry,
        ["content_type_id", "object_id", "object_repr", "action", "changes", "note", "actor_id", "via", "at"],
        [
            (
                content_type.pk,
                str(pk),
                text[:200],
                AuditAction.TRANSITION,
                changes,
                note,
                user.pk if user else None,
                via[:40],
                now,
            )
            for pk, text in zip(object_ids, reprs, strict=True)
        ],
    )
