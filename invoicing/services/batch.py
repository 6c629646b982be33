"""The invoice run's batch path: a chunk of shipment billing groups drafted, approved and issued at once.

What a chunk writes is what the per-invoice services write (drafting.invoice_draft_from_shipments,
then approval's automatic approval, then issuing.invoice_issue), by the same rules, but as a
constant number of statements per chunk instead of some 27 per invoice:

- the chunk's shipments are locked in primary-key order (as the single path locks them) and the
  ones already billed are left out, so a repeated or concurrent run still bills nothing twice;
- drafts, lines, shipment links, automatic approvals, audit entries and outbox events are built in
  Python and inserted with one multi-row INSERT each;
- the numbers of the invoices to issue are taken with one `number_take(count=k)`, after everything
  that can be done without them, because the series row stays locked until COMMIT; they are then
  written, with the UBL, by one UPDATE that sets the content and the status together (the
  immutability trigger judges by the old status).

Groups the batch does not handle (a mix of customers or currencies, shipments without lines) are
handed back for the single path, which explains what is wrong with them. Anything that fails
inside the batch raises, and the caller (runs.py) redoes the chunk group by group.
"""

import datetime
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import FileField, JSONField, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from fulfilment.models import Shipment, ShipmentLine, ShipmentStatus
from o2c.common.db import bulk_insert, chain_flush
from o2c.common.exceptions import ApplicationError
from o2c.common.models import AuditAction, AuditEntry
from o2c.outbox.services import event_record_many
from orders import services as order_services
from orders.models import Company, Customer, Order, Product, VatCategory

from ..models import (
    ISSUED_STATUSES,
    ChannelAutoApproval,
    Invoice,
    InvoiceAllowanceCharge,
    InvoiceApproval,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineSource,
    InvoiceRun,
    InvoiceShipment,
    InvoiceStatus,
    InvoicingSettings,
)
from .approval import approvals_required
from .drafting import (
    _line_from_order_line,
    company_require,
    invoice_created_changes,
    invoicing_settings_for,
    totals_compute,
)
from .fx import exchange_rate_on, exchange_rate_require
from .issuing import invoice_event_payload, issue_fields_set, rate_apply, series_for
from .numbering import number_take
from .parties import buyer_snapshot, seller_snapshot

if TYPE_CHECKING:
    from ..selectors import BillingGroup

# One UPDATE writes what issuing fixes; the casts type the VALUES list.
ISSUE_COLUMNS = [
    ("id", "bigint"),
    ("status", "varchar"),
    ("series_id", "bigint"),
    ("sequence", "bigint"),
    ("number", "varchar"),
    ("issue_date", "date"),
    ("due_date", "date"),
    ("payment_reference", "varchar"),
    ("exchange_rate", "numeric"),
    ("exchange_rate_date", "date"),
    ("vat_amount_base", "numeric"),
    ("issued_at", "timestamptz"),
    ("ubl", "text"),
]
PDFS_PER_MESSAGE = 10
AUDIT_COLUMNS = ["content_type_id", "object_id", "object_repr", "action", "changes", "note", "actor_id", "via", "at"]


@dataclass
class BatchOutcome:
    """What one chunk did, for the run's summary."""

    invoices: list[Invoice] = field(default_factory=list)
    issued: list[Invoice] = field(default_factory=list)
    # Groups left for the single path, and groups not billed at all (with why).
    fallback: list["BillingGroup"] = field(default_factory=list)
    skipped: list[tuple["BillingGroup", str]] = field(default_factory=list)
    # Approved invoices that could not be issued (no exchange rate), with why.
    not_issued: list[tuple["BillingGroup", str]] = field(default_factory=list)


@dataclass
class _Draft:
    group: "BillingGroup"
    invoice: Invoice
    lines: list[InvoiceLine]
    shipments: list["_Locked"]
    created: dict  # the audit snapshot of the draft as made, before approval


# --- the chunk ------------------------------------------------------------------------------------


def invoice_batch_from_shipments(
    *, groups: Sequence["BillingGroup"], run: InvoiceRun | None, issue: bool, via: str = "invoice-run"
) -> BatchOutcome:
    """Draft, approve (where no approval is needed) and, with `issue`, issue one invoice per group.

    Must run inside the caller's transaction (the run's chunk): on any error the caller rolls the
    whole chunk back, numbers included, so no gap is left.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("invoice_batch_from_shipments runs inside the caller's transaction")
    outcome = BatchOutcome()
    shipments = _shipments_lock([pk for group in groups for pk in group.shipment_ids])
    billed = {
        link.shipment_id: link.invoice
        for link in InvoiceShipment.objects.filter(shipment_id__in=shipments)
        .select_related("invoice")
        .only("shipment_id", "invoice__kind", "invoice__number")
    }
    usable: list[BillingGroup] = []
    for group in groups:
        problem = _group_problem(group, shipments, billed)
        if problem is None:
            usable.append(group)
        elif problem == "":
            outcome.fallback.append(group)
        else:
            outcome.skipped.append((group, problem))
    lines_by_shipment = _shipment_lines([pk for group in usable for pk in group.shipment_ids])
    company = company_require()
    settings = invoicing_settings_for(company)
    context = _Context.load(company=company, settings=settings, run=run)
    drafts: list[_Draft] = []
    for group in usable:
        group_shipments = [shipments[pk] for pk in sorted(group.shipment_ids)]
        group_lines = [line for s in group_shipments for line in lines_by_shipment.get(s.pk, [])]
        if not group_lines:
            outcome.fallback.append(group)
            continue
        drafts.append(_draft_build(group, group_shipments, group_lines, context))
    if not drafts:
        return outcome
    _drafts_insert(drafts, context, via=via)
    outcome.invoices = [d.invoice for d in drafts]
    approved = [d for d in drafts if d.invoice.status == InvoiceStatus.APPROVED]
    if issue and approved:
        _issue(approved, context, outcome, via=via)
    return outcome


class _Locked(NamedTuple):
    """A locked shipment, as plain values, with its order (and the order's customer)."""

    pk: int
    order_id: int
    status: str
    ship_date: datetime.date | None
    order: Order


def _shipments_lock(shipment_ids: list[int]) -> dict[int, _Locked]:
    # Lock in primary-key order, as the single path does, so that two runs cannot deadlock.
    rows = list(
        Shipment.objects.select_for_update()
        .filter(pk__in=shipment_ids)
        .order_by("pk")
        .values_list("pk", "order_id", "status", "ship_date")
    )
    orders = Order.objects.in_bulk({order_id for _pk, order_id, _s, _d in rows})
    customers = Customer.objects.in_bulk({order.customer_id for order in orders.values()})
    for order in orders.values():
        order.customer = customers[order.customer_id]
    return {pk: _Locked(pk, order_id, status, ship_date, orders[order_id]) for pk, order_id, status, ship_date in rows}


def _group_problem(group: "BillingGroup", shipments: dict[int, _Locked], billed: dict[int, Invoice]) -> str | None:
    """None if the batch can bill the group; "" to leave it to the single path; else why it is not billed."""
    for pk in group.shipment_ids:
        if pk in billed:
            # Billed by another run meanwhile: said as the single path says it.
            return _("Shipment %(id)s is already billed by %(invoice)s.") % {"id": pk, "invoice": billed[pk]}
        shipment = shipments.get(pk)
        if shipment is None or shipment.status != ShipmentStatus.SHIPPED:
            return ""
    orders = {shipments[pk].order for pk in group.shipment_ids}
    if len({o.customer_id for o in orders}) != 1 or len({o.currency for o in orders}) != 1:
        return ""
    return None


def _shipment_lines(shipment_ids: list[int]) -> dict[int, list[ShipmentLine]]:
    lines: dict[int, list[ShipmentLine]] = defaultdict(list)
    rows = list(
        ShipmentLine.objects.filter(shipment_id__in=shipment_ids, quantity__gt=0)
        .select_related("order_line")
        .order_by("shipment_id", "order_line__position", "pk")
    )
    # A chunk's lines share a few products and VAT categories: one instance of each, not one per line.
    products = Product.objects.in_bulk({row.order_line.product_id for row in rows})
    categories = VatCategory.objects.in_bulk({row.order_line.vat_category_id for row in rows})
    for row in rows:
        row.order_line.product = products[row.order_line.product_id]
        row.order_line.vat_category = categories[row.order_line.vat_category_id]
        lines[row.shipment_id].append(row)
    return lines


# --- what is the same for the whole chunk ---------------------------------------------------------


@dataclass
class _Context:
    company: Company
    settings: InvoicingSettings
    run: InvoiceRun | None
    seller: dict
    channel_limits: dict[str, Decimal]
    today: datetime.date
    # Today's rate per foreign currency, for the approval rule's amount in the base currency.
    approval_rates: dict[str, Decimal | None]
    buyers: dict[int, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, *, company: Company, settings: InvoicingSettings, run: InvoiceRun | None) -> "_Context":
        return cls(
            company=company,
            settings=settings,
            run=run,
            seller=seller_snapshot(company),
            channel_limits=dict(ChannelAutoApproval.objects.values_list("channel", "below")),
            today=timezone.localdate(),
            approval_rates={},
        )

    def buyer(self, customer: Customer) -> dict:
        if customer.pk not in self.buyers:
            self.buyers[customer.pk] = buyer_snapshot(customer)
        return self.buyers[customer.pk]

    def approval_rate(self, currency: str) -> Decimal | None:
        if currency not in self.approval_rates:
            rate = exchange_rate_on(currency=currency, base_currency=self.company.base_currency, on=self.today)
            self.approval_rates[currency] = rate.rate if rate else None
        return self.approval_rates[currency]


def _approvals_required(invoice: Invoice, order: Order | None, context: _Context) -> int:
    """approval.approvals_required, with the chunk's settings, channel limits and rates."""
    in_base = invoice.payable_amount
    if invoice.currency != context.company.base_currency:
        rate = context.approval_rate(invoice.currency)
        in_base = invoice.payable_amount * rate if rate else invoice.payable_amount
    return approvals_required(
        payable=invoice.payable_amount,
        payable_in_base=in_base,
        customer_limit=invoice.customer.auto_approve_invoices_below,
        channel_limit=context.channel_limits.get(order.channel) if order is not None else None,
        settings=context.settings,
    )


# --- drafts ---------------------------------------------------------------------------------------


def _draft_build(
    group: "BillingGroup", shipments: list[_Locked], shipment_lines: list[ShipmentLine], context: _Context
) -> _Draft:
    """The draft drafting.invoice_draft_from_shipments makes for the group, not yet saved."""
    orders = {s.order_id: s.order for s in shipments}
    order = next(iter(orders.values())) if len(orders) == 1 else None
    customer = shipments[0].order.customer
    ship_dates = [s.ship_date for s in shipments if s.ship_date]
    by_pk = {s.pk: s for s in shipments}
    invoice = Invoice(
        company=context.company,
        kind=InvoiceKind.INVOICE,
        customer=customer,
        order=order,
        run=context.run,
        currency=shipments[0].order.currency,
        language=customer.language,
        payment_terms_days=customer.payment_terms_days,
        early_payment_discount_percent=customer.early_payment_discount_percent,
        early_payment_discount_days=customer.early_payment_discount_days,
        buyer_reference=(order.customer_reference if order else "")[:100],
        order_reference=(order.external_reference or str(order.number) if order else "")[:100],
        seller=context.seller,
        buyer=context.buyer(customer),
        created_by=None,
        delivery_date=max(ship_dates) if ship_dates else None,
        period_start=group.period[0] if group.period else None,
        period_end=group.period[1] if group.period else None,
    )
    lines = [
        _line_from_order_line(
            invoice=invoice,
            position=position,
            order_line=line.order_line,
            quantity=line.quantity,
            source=InvoiceLineSource.SHIPMENT,
            shipment_line=line,
            delivery_date=by_pk[line.shipment_id].ship_date,
        )
        for position, line in enumerate(shipment_lines, start=1)
    ]
    totals = totals_compute(
        lines=[(line.vat_category_code, line.vat_rate, line.net_amount) for line in lines],
        allowance_charges=[],
        currency=invoice.currency,
        round_to_whole_units_=context.settings.round_to_whole_units,
    )
    invoice.net_amount = totals.net_amount
    invoice.allowance_amount = totals.allowance_amount
    invoice.charge_amount = totals.charge_amount
    invoice.vat_amount = totals.vat_amount
    invoice.gross_amount = totals.gross_amount
    invoice.rounding_amount = totals.rounding_amount
    invoice.payable_amount = totals.payable_amount
    invoice.reverse_charge = any(line.vat_category_code == "AE" for line in lines)
    # The single path audits the draft as made, before it decides the approvals.
    created = invoice_created_changes(invoice)
    invoice.approvals_required = _approvals_required(invoice, order, context)
    if invoice.approvals_required == 0:
        invoice.status = InvoiceStatus.APPROVED
    return _Draft(group=group, invoice=invoice, lines=lines, shipments=shipments, created=created)


def _drafts_insert(drafts: list[_Draft], context: _Context, *, via: str) -> None:
    invoices = [d.invoice for d in drafts]
    for invoice, (pk,) in zip(invoices, _insert(Invoice, invoices, returning="id"), strict=True):
        invoice.pk = pk
        invoice._state.adding = False
    lines = []
    for d in drafts:
        for line in d.lines:
            line.invoice_id = d.invoice.pk
            lines.append(line)
    _insert(InvoiceLine, lines)
    bulk_insert(
        InvoiceShipment, ["invoice_id", "shipment_id"], [(d.invoice.pk, s.pk) for d in drafts for s in d.shipments]
    )
    approved = [d.invoice for d in drafts if d.invoice.status == InvoiceStatus.APPROVED]
    now = timezone.now()
    bulk_insert(
        InvoiceApproval,
        ["invoice_id", "approver_id", "automatic", "note", "at", "withdrawn_at"],
        [(invoice.pk, None, True, _("Below the limit"), now, None) for invoice in approved],
    )
    # What invoice.lines.all() and .allowance_charges.all() would read, so the UBL needs no query.
    # (Copies of one evaluated queryset each: building 2 querysets per invoice took 10 % of the run.)
    lines_template, charges_template = InvoiceLine.objects.all(), InvoiceAllowanceCharge.objects.all()
    for d in drafts:
        d.invoice._prefetched_objects_cache = {
            "lines": _evaluated(lines_template, d.lines),
            "allowance_charges": _evaluated(charges_template, []),
        }
    automatic = _("Approved automatically")
    _audit_write(
        [(d.invoice, AuditAction.CREATE, d.created, "", via) for d in drafts]
        + [
            (invoice, AuditAction.TRANSITION, {"status": [InvoiceStatus.DRAFT, InvoiceStatus.APPROVED]}, automatic, via)
            for invoice in approved
        ]
    )


def _insert(model, objs: list, *, returning: str | None = None) -> list[tuple]:
    """bulk_create without the ORM's per-value preparation (a third of the run's time): the
    instances' attribute values as they are, JSON serialised, choices as their plain values."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = []
    for obj in objs:
        row = []
        for f in fields:
            value = getattr(obj, f.attname)
            if isinstance(f, JSONField):
                value = json.dumps(value, cls=DjangoJSONEncoder)
            elif isinstance(f, FileField):
                value = value.name or ""
            elif isinstance(value, Enum):
                value = value.value
            row.append(value)
        rows.append(tuple(row))
    return bulk_insert(model, [f.column for f in fields], rows, returning=returning)


def _evaluated(template: QuerySet, rows: list) -> QuerySet:
    # A shallow copy by hand: copy.copy() would pickle the queryset, and so evaluate the template.
    queryset = QuerySet.__new__(type(template))
    queryset.__dict__.update(template.__dict__)
    queryset._result_cache = rows
    queryset._prefetch_done = True
    return queryset


def _audit_write(entries: list[tuple[Invoice, str, dict, str, str]]) -> None:
    """What audit_created / audit_transition write for each (invoice, action, changes, note, via), in one INSERT."""
    content_type = ContentType.objects.get_for_model(Invoice, for_concrete_model=False)
    now = timezone.now()
    chain_flush("audit_entries")  # entries keep the order they were written in
    bulk_insert(
        AuditEntry,
        AUDIT_COLUMNS,
        [
            (
                content_type.pk,
                str(invoice.pk),
                str(invoice)[:200],
                action,
                json.dumps(changes, cls=DjangoJSONEncoder),
                note,
                None,
                (via or "system")[:40],
                now,
            )
            for invoice, action, changes, note, via in entries
        ],
    )


# --- issuing --------------------------------------------------------------------------------------


def _issue(drafts: list[_Draft], context: _Context, outcome: BatchOutcome, *, via: str) -> None:
    """issuing.invoice_issue for the approved drafts, with one number_take and one UPDATE."""
    from ..ubl import invoice_ubl  # ubl imports the services: import it when used

    company = context.company
    series = series_for(drafts[0].invoice)  # the run makes invoices only
    on = context.today
    rates: dict[str, object] = {}
    problems: dict[str, str] = {}
    for currency in sorted({d.invoice.currency for d in drafts} - {company.base_currency}):
        try:
            rates[currency] = exchange_rate_require(currency=currency, base_currency=company.base_currency, on=on)
        except ApplicationError as exc:
            problems[currency] = exc.message
    to_issue = []
    for d in drafts:
        if d.invoice.currency in problems:
            outcome.not_issued.append((d.group, problems[d.invoice.currency]))
        else:
            to_issue.append(d)
    if not to_issue:
        return
    # Orders whose every shipment is billed by an issued invoice once these are: decided before the
    # numbers are taken, so the series row stays locked for as short a time as possible.
    _orders_mark_invoiced(to_issue, via=via or "invoicing", note=str(context.run) if context.run else "")
    issued_at = timezone.now()
    first = number_take(series=series, count=len(to_issue))
    rows = []
    for offset, d in enumerate(to_issue):
        invoice = d.invoice
        rate = rates.get(invoice.currency)
        if rate is not None:
            rate_apply(invoice, rate=(rate.rate, rate.date), base_currency=company.base_currency)
        issue_fields_set(invoice, series=series, sequence=first + offset, on=on, issued_at=issued_at, actor=None)
        invoice.ubl = invoice_ubl(invoice)
        rows.append(tuple(getattr(invoice, name) for name, _cast in ISSUE_COLUMNS))
    _issue_write(rows)
    _audit_write(
        [
            (
                d.invoice,
                AuditAction.TRANSITION,
                {"status": [InvoiceStatus.APPROVED, InvoiceStatus.ISSUED]},
                d.invoice.number,
                via,
            )
            for d in to_issue
        ]
    )
    event_record_many(
        events=[("invoice.issued", "invoice", d.invoice.pk, invoice_event_payload(d.invoice)) for d in to_issue]
    )
    ids = [d.invoice.pk for d in to_issue]
    transaction.on_commit(lambda: _documents_schedule(ids))
    outcome.issued = [d.invoice for d in to_issue]


def _issue_write(rows: list[tuple]) -> None:
    from psycopg2.extras import execute_values

    if connection.vendor != "postgresql":  # pragma: no cover - the run's batch path is for PostgreSQL
        raise RuntimeError("The invoice run's batch issue needs PostgreSQL")
    table = connection.ops.quote_name(Invoice._meta.db_table)
    names = [name for name, _t in ISSUE_COLUMNS]
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    template = "(" + ", ".join(f"%s::{cast}" for _n, cast in ISSUE_COLUMNS) + ")"
    sql = (
        f"UPDATE {table} AS i SET {assignments} FROM (VALUES %s) AS v({', '.join(names)}) "
        f"WHERE i.id = v.id AND i.status = '{InvoiceStatus.APPROVED}'"
    )
    with connection.cursor() as cursor:
        execute_values(cursor.cursor, sql, rows, template=template, page_size=len(rows))
        if cursor.cursor.rowcount != len(rows):
            # Cannot happen while the drafts are this transaction's own; if it does, the run redoes the chunk.
            raise IntegrityError(f"{len(rows) - cursor.cursor.rowcount} invoices of the chunk were not issued")


def _orders_mark_invoiced(drafts: list[_Draft], *, via: str, note: str) -> None:
    """issuing._orders_mark_invoiced for the chunk: shipped orders with no shipment left unbilled."""
    issuing_ids = [d.invoice.pk for d in drafts]
    order_ids = {s.order_id for d in drafts for s in d.shipments}
    unbilled = set(
        Shipment.objects.filter(order_id__in=order_ids)
        .exclude(invoice_link__invoice__status__in=list(ISSUED_STATUSES))
        .exclude(invoice_link__invoice_id__in=issuing_ids)
        .values_list("order_id", flat=True)
        .distinct()
    )
    order_services.order_invoice_batch(
        order_ids=sorted(order_ids - unbilled),
        actor=None,
        via=via,
        note=note,
    )


def _documents_schedule(invoice_ids: list[int]) -> None:
    """Queue the PDFs, PDFS_PER_MESSAGE to a message: a message costs the run 1 to 3 ms, a PDF a
    worker some 250 ms, so workers still share the renders out while the run sends 1/10 the messages."""
    from ..tasks import invoice_render_pdfs

    for start in range(0, len(invoice_ids), PDFS_PER_MESSAGE):
        invoice_render_pdfs.delay(invoice_ids[start : start + PDFS_PER_MESSAGE])
