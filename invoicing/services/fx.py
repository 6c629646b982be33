"""Exchange rates: one table per currency and date, imported by finance as CSV.

Invoicing states the VAT of a foreign-currency invoice in the company's base currency at the rate
of the invoice date; receivables and reporting read the same table. On a day without a published
rate (weekends, bank holidays) the latest earlier rate applies, as the central banks advise, but
never one older than RATE_MAX_AGE_DAYS: a stale table is an error to fix, not a rate to guess.
"""

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from o2c.common.audit import audit_record
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditAction
from o2c.common.money import Currency

from ..models import ExchangeRate

RATE_MAX_AGE_DAYS = 7
MAX_IMPORT_ROWS = 50_000


def exchange_rate_on(*, currency: str, base_currency: str, on: datetime.date) -> ExchangeRate | None:
    """The rate for `on`, or the latest within RATE_MAX_AGE_DAYS before it; None if there is none."""
    if currency == base_currency:
        return None
    return (
        ExchangeRate.objects.filter(
            currency=currency,
            base_currency=base_currency,
            date__lte=on,
            date__gte=on - datetime.timedelta(days=RATE_MAX_AGE_DAYS),
        )
        .order_by("-date")
        .first()
    )


def exchange_rate_require(*, currency: str, base_currency: str, on: datetime.date) -> ExchangeRate:
    rate = exchange_rate_on(currency=currency, base_currency=base_currency, on=on)
    if rate is None:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_(
                "No %(currency)s/%(base)s exchange rate on or up to %(days)d days before %(date)s. "
                "Import the day's rates first."
            )
            % {"currency": currency, "base": base_currency, "days": RATE_MAX_AGE_DAYS, "date": on.isoformat()},
        )
    return rate


@dataclass
class RateImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _parse_decimal(text: str) -> Decimal:
    # Central banks publish "11,2345" (Swedish/Norwegian) or "11.2345".
    return Decimal(text.strip().replace("\u00a0", "").replace(" ", "").replace(",", "."))


def exchange_rates_import_csv(
    *, content: bytes | str, base_currency: str, source: str, actor: User | None, via: str = ""
) -> RateImportResult:
    """Import `date;currency;rate` rows (comma or semicolon separated, a header row allowed).

    Either the whole file goes in or nothing does: every bad row is reported with its line number
    and the import is refused. A rate that changes an existing one is updated and audited.
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApplicationError(code=ErrorCode.VALIDATION, message=_("The file is not UTF-8 text.")) from None
    # Semicolons whenever the file has them: a decimal comma cannot then be mistaken for a separator.
    delimiter = ";" if ";" in content[:4096] else ","
    reader = csv.reader(io.StringIO(content), delimiter=delimiter)
    result = RateImportResult()
    parsed: dict[tuple[str, datetime.date], Decimal] = {}
    valid_currencies = {c.value for c in Currency}
    for line_number, row in enumerate(reader, start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if line_number == 1 and row[0].strip().lower() in {"date", "datum", "dato"}:
            continue
        if line_number > MAX_IMPORT_ROWS:
            result.errors.append(_("More than %(n)d rows; split the file.") % {"n": MAX_IMPORT_ROWS})
            break
        if len(row) < 3:
            result.errors.append(
                _("Line %(line)d: expected date, currency and rate, got %(n)d columns.")
                % {"line": line_number, "n": len(row)}
            )
            continue
        date_text, currency, rate_text = (cell.strip() for cell in row[:3])
        currency = currency.upper()
        try:
            date = datetime.date.fromisoformat(date_text)
        except ValueError:
            result.errors.append(
                _("Line %(line)d: %(value)r is not a date (YYYY-MM-DD).") % {"line": line_number, "value": date_text}
            )
            continue
        if currency not in valid_currencies:
            result.errors.append(
                _("Line %(line)d: unknown currency %(value)r.") % {"line": line_number, "value": currency}
            )
            continue
        if currency == base_currency:
            result.errors.append(
                _("Line %(line)d: %(currency)s is the base currency.") % {"line": line_number, "currency": currency}
            )
            continue
        try:
            rate = _parse_decimal(rate_text)
        except InvalidOperation:
            rate = None
        if rate is None or not rate.is_finite() or rate <= 0 or rate.as_tuple().exponent < -6:
            result.errors.append(
                _("Line %(line)d: %(value)r is not a positive rate with at most 6 decimals.")
                % {"line": line_number, "value": rate_text}
            )
            continue
        if (currency, date) in parsed and parsed[(currency, date)] != rate:
            result.errors.append(
                _("Line %(line)d: a second, different %(currency)s rate for %(date)s.")
                % {"line": line_number, "currency": currency, "date": date.isoformat()}
            )
            continue
        parsed[(currency, date)] = rate
    if result.errors:
        return result
    if not parsed:
        result.errors.append(_("The file has no rates."))
        return result
    with transaction.atomic():
        existing = {
            (r.currency, r.date): r
            for r in ExchangeRate.objects.select_for_update().filter(
                base_currency=base_currency,
                currency__in={c for c, _ in parsed},
                date__in={d for _, d in parsed},
            )
        }
        new_rows = []
        for (currency, date), rate in sorted(parsed.items(), key=lambda item: (item[0][1], item[0][0])):
            old = existing.get((currency, date))
            if old is None:
                new_rows.append(
                    ExchangeRate(
                        currency=currency,
                        base_currency=base_currency,
                        date=date,
                        rate=rate,
                        source=source[:100],
                        imported_by=actor if actor is not None and actor.is_authenticated else None,
                    )
                )
            elif old.rate != rate:
                audit_record(
                    instance=old,
                    action=AuditAction.CHANGE,
                    changes={"rate": [str(old.rate), str(rate)]},
                    actor=actor,
                    via=via,
                    note=source,
                )
                old.rate = rate
                old.source = source[:100]
                old.save(update_fields=["rate", "source"])
                result.updated += 1
            else:
                result.unchanged += 1
        ExchangeRate.objects.bulk_create(new_rows)
        result.created = len(new_rows)
        if new_rows:
            audit_record(
                instance=new_rows[-1],
                action=AuditAction.CREATE,
                changes={"imported": [None, len(new_rows)], "source": [None, source]},
                actor=actor,
                via=via,
                note=_("%(n)d exchange rates imported") % {"n": len(new_rows)},
            )
    return result
