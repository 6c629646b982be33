"""Printable documents of the warehouse, rendered as PDF by WeasyPrint in a Celery worker.

Rendering takes about a quarter of a second of CPU a page, so it never happens inside a request:
the page asks a worker (after commit) and offers the file when it is there.
"""

import datetime
import hashlib

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from o2c.common.audit import audit_created, audit_transition
from o2c.common.exceptions import ApplicationError, ErrorCode

from ..models import BATCH_PICK_LIST_TRANSITIONS, BatchPickList, BatchPickListStatus, PickList
from ..selectors.shipping import pick_list_get, pick_lists_batch, pick_lists_open_ids

__all__ = [
    "batch_pick_list_pdf_render",
    "batch_pick_list_pdf_request",
    "pick_list_pdf_render",
    "pick_list_pdf_request",
]

# A batch still being prepared after this long is asked for again: its message may have been lost.
BATCH_RENDER_RETRY_AFTER = datetime.timedelta(minutes=2)


def pick_list_pdf_render(*, pick_list_id: int, language: str = "sv") -> PickList:
    """Render a pick list's PDF and store it on the pick list. Safe to run twice (the last one wins)."""
    from weasyprint import HTML  # imported here: the web process never renders

    pick_list = pick_list_get(pk=pick_list_id)
    with translation.override(language):
        html = render_to_string(
            "fulfilment/pick_list_pdf.html",
            {
                "pick_list": pick_list,
                "order": pick_list.order,
                "lines": list(pick_list.lines.all()),
                "printed_at": timezone.now(),
            },
        )
    pdf = HTML(string=html).write_pdf()
    with transaction.atomic():
        locked = PickList.objects.select_for_update().get(pk=pick_list_id)
        if locked.pdf:
            locked.pdf.delete(save=False)
        locked.pdf.save(f"pick-list-{pick_list_id}.pdf", ContentFile(pdf), save=False)
        locked.pdf_rendered_at = timezone.now()
        locked.save(update_fields=["pdf", "pdf_rendered_at"])
    return locked


def pick_list_pdf_request(*, pick_list: PickList, language: str) -> None:
    """Ask a worker to render the pick list's PDF once the current transaction commits."""
    from ..tasks import render_pick_list_pdf

    transaction.on_commit(lambda: render_pick_list_pdf.delay(pick_list.pk, language))


def _pdf_present(document: PickList | BatchPickList) -> bool:
    """The file is there: named on the row and still in (shared) storage."""
    return bool(document.pdf) and document.pdf.storage.exists(document.pdf.name)


def _batch_transition(
    *, batch: BatchPickList, to: BatchPickListStatus, actor: User | None, via: str, note: str = "", **changes
) -> BatchPickList:
    """Move a locked batch to `to` (BATCH_PICK_LIST_TRANSITIONS), saving `changes` with it, audited."""
    if to not in BATCH_PICK_LIST_TRANSITIONS[BatchPickListStatus(batch.status)]:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("%(batch)s is %(status)s; it cannot become %(target)s.")
            % {"batch": batch, "status": batch.get_status_display().lower(), "target": to.label.lower()},
        )
    old = batch.status
    batch.status = to
    for field, value in changes.items():
        setattr(batch, field, value)
    batch.save(update_fields=["status", *changes])
    audit_transition(instance=batch, field="status", old=old, new=to, actor=actor, via=via, note=note)
    return batch


def _batch_render_dispatch(batch: BatchPickList) -> None:
    from ..tasks import render_batch_pick_list_pdf

    batch_id = batch.pk
    transaction.on_commit(lambda: render_batch_pick_list_pdf.delay(batch_id))


@transaction.atomic
def batch_pick_list_pdf_request(
    *, pick_list_ids: list[int], actor: User | None, language: str, via: str = "web"
) -> BatchPickList:
    """The PDF of these pick lists walked as one route: the existing one, or a new one a worker renders.

    Only open pick lists can be walked; the others are left out. The same set of pick lists asked
    for again (by anyone) gets the same row: rendered once, and again only if its file was lost.
    """
    ids = pick_lists_open_ids(pick_list_ids=pick_list_ids)
    if not ids:
        raise ApplicationError(code=ErrorCode.INVALID_STATE, message=_("None of these pick lists is open to pick."))
    key = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()
    now = timezone.now()
    # get_or_create inserts under the unique key, so two requests at once still make one row.
    batch, created = BatchPickList.objects.get_or_create(
        key=key,
        defaults={
            "pick_list_ids": ids,
            "language": language,
            "requested_by": actor if actor is not None and actor.is_authenticated else None,
            "created_at": now,
            "requested_at": now,
        },
    )
    if created:
        audit_created(instance=batch, actor=actor, via=via)
        _batch_render_dispatch(batch)
        return batch
    batch = BatchPickList.objects.select_for_update().get(pk=batch.pk)
    if batch.status == BatchPickListStatus.READY and not _pdf_present(batch):
        batch = _batch_transition(
            batch=batch,
            to=BatchPickListStatus.PREPARING,
            actor=actor,
            via=via,
            note=_("The PDF file was lost from storage; rendering it again."),
            requested_at=now,
        )
        _batch_render_dispatch(batch)
    elif batch.status == BatchPickListStatus.PREPARING and batch.requested_at < now - BATCH_RENDER_RETRY_AFTER:
        batch.requested_at = now
        batch.save(update_fields=["requested_at"])
        _batch_render_dispatch(batch)
    return batch


def batch_pick_list_pdf_render(*, batch_id: int) -> BatchPickList:
    """Render a batch's PDF and mark it ready. Safe to run twice: a batch whose file is there is kept."""
    from weasyprint import HTML  # imported here: the web process never renders

    batch = BatchPickList.objects.get(pk=batch_id)
    if batch.status == BatchPickListStatus.READY and _pdf_present(batch):
        return batch
    with translation.override(batch.language):
        html = render_to_string(
            "fulfilment/pick_list_batch_pdf.html",
            {
                "batch": batch,
                "stops": pick_lists_batch(pick_list_ids=batch.pick_list_ids),
                "printed_at": timezone.now(),
            },
        )
    pdf = HTML(string=html).write_pdf()
    with transaction.atomic():
        locked = BatchPickList.objects.select_for_update().get(pk=batch_id)
        if locked.status == BatchPickListStatus.READY and _pdf_present(locked):
            return locked  # another run finished first
        if locked.status == BatchPickListStatus.READY:  # ready, but its file is gone: prepare it again
            _batch_transition(batch=locked, to=BatchPickListStatus.PREPARING, actor=None, via="worker")
        if locked.pdf:
            locked.pdf.delete(save=False)
        locked.pdf.save(f"batch-pick-list-{batch_id}.pdf", ContentFile(pdf), save=False)
        return _batch_transition(
            batch=locked,
            to=BatchPickListStatus.READY,
            actor=None,
            via="worker",
            pdf=locked.pdf,
            rendered_at=timezone.now(),
        )
