"""The invoice run: everything shipped up to a date, invoiced in one Celery job with a progress bar.

What a run bills:
- each shipped shipment, alone, for customers invoiced per shipment;
- for customers on collective invoicing, all their shipments of a week or month in one invoice,
  once that period has ended on or before the run's date (so a month is never split in two);
- the service lines of confirmed orders (services are invoiced on confirmation).

A run is safe to repeat or restart: a shipment is billed once, ever (InvoiceShipment is unique per
shipment and rows are locked while a draft is made), so a second run, or the same run delivered
twice by the broker, finds nothing left to bill.

Shipments are billed a chunk at a time by the batch path (batch.py: a constant number of
statements per chunk, in a savepoint); service orders, unusual groups, and every group of a chunk
whose batch failed go through the per-invoice services, each invoice in its own savepoint. What
fails is listed in the summary and the rest go on; an invoice made but not issued for want of an
exchange rate stays approved and is listed too.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from o2c.common.audit import audit_created, audit_transition
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.roles import user_can
from orders.models import Order

from ..models import Invoice, InvoiceRun, InvoiceRunStatus, InvoiceStatus
from ..selectors import BillingGroup, billing_groups
from .batch import invoice_batch_from_shipments
from .drafting import invoice_draft_for_services, invoice_draft_from_shipments
from .issuing import invoice_issue

logger = logging.getLogger(__name__)

# Groups per chunk: each chunk is one transaction, one progress update and, on the batch path
# (batch.py), a constant number of statements; the series row is locked from its number_take to
# its COMMIT, so a chunk is kept small enough for that to stay well under a second.
CHUNK = 500
# A run that has said nothing for this long is taken to have died with its worker.
STALE_AFTER = datetime.timedelta(minutes=30)


@transaction.atomic
def invoice_run_start(
    *, up_to: datetime.date, actor: User | None, via: str = "", issue_approved: bool = True
) -> InvoiceRun:
    """Queue a run. Only one runs at a time; the worker does the work after commit."""
    if actor is not None and not user_can(actor, "invoice.run"):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=_("Only finance may start invoice runs."))
    if up_to > timezone.localdate():
        raise ApplicationError(code=ErrorCode.VALIDATION, message=_("A run cannot invoice shipments of the future."))
    # Serialise starts: lock the latest run row so two clicks cannot both see "none running".
    busy = (
        InvoiceRun.objects.select_for_update()
        .filter(status__in=[InvoiceRunStatus.QUEUED, InvoiceRunStatus.RUNNING])
        .order_by("-pk")
        .first()
    )
    if busy is not None and timezone.now() - _last_sign_of_life(busy) < STALE_AFTER:
        raise ApplicationError(
            code=ErrorCode.CONFLICT,
            message=_("Invoice run %(id)s is still going; wait for it to finish.") % {"id": busy.pk},
            extra={"run_id": busy.pk},
        )
    run = InvoiceRun.objects.create(
        up_to=up_to,
        issue_approved=issue_approved,
        total=len(billing_groups(up_to=up_to)),
        started_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_created(instance=run, actor=actor, via=via)
    from ..tasks import invoice_run_execute as task

    transaction.on_commit(lambda: task.delay(run.pk))
    return run


def _last_sign_of_life(run: InvoiceRun) -> datetime.datetime:
    heartbeat = run.summary.get("heartbeat_at")
    return datetime.datetime.fromisoformat(heartbeat) if heartbeat else run.created_at


@dataclass
class _Tally:
    """The run's running summary: counts, amounts per currency, and what went wrong."""

    summary: defaultdict
    amounts: dict[str, str]
    errors: list[str]

    def made(self, invoice: Invoice) -> None:
        self.summary["invoices"] += 1
        if invoice.status == InvoiceStatus.ISSUED:
            self.summary["issued"] += 1
        elif invoice.status == InvoiceStatus.DRAFT:
            self.summary["awaiting_approval"] += 1
        self.amounts[invoice.currency] = str(Decimal(self.amounts.get(invoice.currency, "0")) + invoice.payable_amount)

    def failed(self, group: BillingGroup, message: str) -> None:
        self.errors.append(_describe(group) + ": " + message)
        self.summary["failed"] += 1


def _bill_chunk(chunk: list[BillingGroup], run: InvoiceRun, tally: _Tally) -> list[BillingGroup]:
    """Bill the chunk's shipment groups through the batch path; returns the groups left for the single path.

    The batch runs in a savepoint: if anything in it fails (a UBL that cannot be built, say), the
    chunk is redone group by group, so one bad invoice is listed and the rest are billed.
    """
    shipment_groups = [g for g in chunk if g.service_order_id is None]
    rest = [g for g in chunk if g.service_order_id is not None]
    if not shipment_groups:
        return rest
    try:
        with transaction.atomic():
            outcome = invoice_batch_from_shipments(groups=shipment_groups, run=run, issue=run.issue_approved)
    except (ApplicationError, IntegrityError):
        logger.warning("Invoice run %s: batch failed, billing the chunk one by one", run.pk, exc_info=True)
        return chunk
    for invoice in outcome.invoices:
        tally.made(invoice)
    for group, message in outcome.not_issued:
        # Made and approved, but not issued (no exchange rate): finance issues it once the rate is in.
        tally.errors.append(_describe(group) + ": " + message)
        tally.summary["not_issued"] += 1
    for group, message in outcome.skipped:
        tally.failed(group, message)
    return outcome.fallback + rest


def _bill_one(group: BillingGroup, run: InvoiceRun, tally: _Tally) -> None:
    """The single path: one group's invoice in its own savepoint, listed in the summary if it fails."""
    try:
        with transaction.atomic():
            if group.service_order_id is not None:
                invoice = invoice_draft_for_services(
                    order=Order(pk=group.service_order_id), actor=None, via="invoice-run", run=run
                )
            else:
                invoice = invoice_draft_from_shipments(
                    shipment_ids=list(group.shipment_ids), actor=None, via="invoice-run", run=run, period=group.period
                )
            if invoice is None:
                return
            if invoice.status == InvoiceStatus.APPROVED and run.issue_approved:
                invoice = invoice_issue(invoice=invoice, actor=None, via="invoice-run")
            tally.made(invoice)
    except ApplicationError as exc:
        # e.g. a missing exchange rate, or a shipment another run billed meanwhile.
        tally.failed(group, exc.message)


def invoice_run_execute(*, run_id: int) -> InvoiceRun:
    """Do the run in chunks, each its own transaction, updating the progress as it goes."""
    with transaction.atomic():
        run = InvoiceRun.objects.select_for_update().get(pk=run_id)
        if run.status in (InvoiceRunStatus.DONE, InvoiceRunStatus.FAILED):
            return run
        old = run.status
        run.status = InvoiceRunStatus.RUNNING
        run.summary = {**run.summary, "heartbeat_at": timezone.now().isoformat()}
        run.save(update_fields=["status", "summary"])
        if old != run.status:
            audit_transition(instance=run, field="status", old=old, new=run.status, actor=None, via="invoice-run")
    summary = defaultdict(int, {k: v for k, v in run.summary.items() if isinstance(v, int)})
    amounts: dict[str, str] = dict(run.summary.get("amounts", {}))
    errors: list[str] = list(run.summary.get("errors", []))
    groups = billing_groups(up_to=run.up_to)
    InvoiceRun.objects.filter(pk=run.pk).update(total=run.processed + len(groups))
    tally = _Tally(summary=summary, amounts=amounts, errors=errors)
    try:
        for start in range(0, len(groups), CHUNK):
            chunk = groups[start : start + CHUNK]
            with transaction.atomic():
                for group in _bill_chunk(chunk, run, tally):
                    _bill_one(group, run, tally)
                InvoiceRun.objects.filter(pk=run.pk).update(
                    processed=F("processed") + len(chunk),
                    summary={
                        **summary,
                        "amounts": amounts,
                        "errors": errors[-100:],
                        "heartbeat_at": timezone.now().isoformat(),
                    },
                )
    except Exception as exc:
        with transaction.atomic():
            InvoiceRun.objects.filter(pk=run.pk).update(
                status=InvoiceRunStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
            )
            run.refresh_from_db()
            audit_transition(
                instance=run,
                field="status",
                old=InvoiceRunStatus.RUNNING,
                new=InvoiceRunStatus.FAILED,
                actor=None,
                via="invoice-run",
                note=str(exc)[:200],
            )
        raise
    with transaction.atomic():
        InvoiceRun.objects.filter(pk=run.pk).update(
            status=InvoiceRunStatus.DONE,
            finished_at=timezone.now(),
            summary={**summary, "amounts": amounts, "errors": errors[-100:]},
        )
        run.refresh_from_db()
        audit_transition(
            instance=run,
            field="status",
            old=InvoiceRunStatus.RUNNING,
            new=InvoiceRunStatus.DONE,
            actor=None,
            via="invoice-run",
            note=_("%(n)d invoices") % {"n": summary["invoices"]},
        )
    return run


def _describe(group: BillingGroup) -> str:
    if group.service_order_id is not None:
        return _("Services of order id %(id)s") % {"id": group.service_order_id}
    return _("Shipments %(ids)s") % {"ids": ", ".join(str(i) for i in group.shipment_ids)}
