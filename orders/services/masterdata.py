"""Writes to master data. Each service validates the whole record, saves it and audits it in one transaction."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from o2c.common.audit import audit_changed, audit_created, audit_transition, snapshot
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.roles import user_can

from ..models import BankAccount, Company, Customer, CustomerStatus, NumberSeries, Product, VatCategory, VatRate
from ..selectors import customer_next_number

__all__ = [
    "customer_create",
    "customer_update",
    "customer_block",
    "customer_unblock",
    "product_create",
    "product_update",
    "company_create",
    "company_update",
    "number_series_create",
    "bank_account_create",
    "vat_category_create",
    "vat_rate_add",
]


def _save_validated(instance, *, unique_error: dict[str, str]):
    """full_clean then save; a unique race lost to a concurrent insert is reported like a validation error."""
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ValidationError(unique_error) from exc
    return instance


def _create_audited(instance, *, actor: User | None, via: str):
    """Validate, save and audit a new record (the master data that has no rules beyond its model)."""
    instance.full_clean()
    instance.save()
    audit_created(instance=instance, actor=actor, via=via)
    return instance


def _require(actor: User | None, capability: str, message: str) -> None:
    if actor is not None and not user_can(actor, capability):
        raise ApplicationError(code=ErrorCode.PERMISSION_DENIED, message=message)


def _check_credit_fields(actor: User | None, customer: Customer, data: dict) -> None:
    changed = sorted(f for f in Customer.CREDIT_FIELDS if f in data and data[f] != getattr(customer, f))
    if changed and actor is not None and not user_can(actor, "customer.edit_credit"):
        raise ApplicationError(
            code=ErrorCode.PERMISSION_DENIED,
            message=_("Only finance may set %(fields)s.") % {"fields": ", ".join(changed)},
            extra={"fields": {f: [_("Only finance may set this.")] for f in changed}},
        )


@transaction.atomic
def customer_create(*, actor: User | None, via: str = "", **data) -> Customer:
    _require(actor, "customer.edit", _("You may not create customers."))
    if not data.get("number"):
        data["number"] = customer_next_number()
    customer = Customer()
    _check_credit_fields(actor, customer, data)
    for field, value in data.items():
        setattr(customer, field, value)
    _save_validated(customer, unique_error={"number": _("Customer number %s is taken.") % customer.number})
    audit_created(instance=customer, actor=actor, via=via)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor: User | None, via: str = "", **data) -> Customer:
    _require(actor, "customer.edit", _("You may not change customers."))
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if "status" in data or "blocked_reason" in data:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE, message=_("Block or unblock a customer with its own action.")
        )
    _check_credit_fields(actor, customer, data)
    before = snapshot(customer)
    for field, value in data.items():
        setattr(customer, field, value)
    _save_validated(customer, unique_error={"number": _("Customer number %s is taken.") % customer.number})
    audit_changed(instance=customer, before=before, actor=actor, via=via)
    return customer


def _customer_transition(*, customer: Customer, to: CustomerStatus, reason: str, actor: User | None, via: str):
    _require(actor, "customer.edit_credit", _("Only finance may block or unblock customers."))
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if to not in Customer.STATUS_TRANSITIONS[customer.status]:
        raise ApplicationError(
            code=ErrorCode.INVALID_STATE,
            message=_("Customer %(number)s is already %(status)s.")
            % {"number": customer.number, "status": customer.get_status_display().lower()},
        )
    old = customer.status
    customer.status = to
    customer.blocked_reason = reason if to == CustomerStatus.BLOCKED else ""
    customer.save(update_fields=["status", "blocked_reason", "updated_at"])
    audit_transition(instance=customer, field="status", old=old, new=to, actor=actor, via=via, note=reason)
    return customer


@transaction.atomic
def customer_block(*, customer: Customer, reason: str, actor: User | None, via: str = "") -> Customer:
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the customer is blocked.")})
    return _customer_transition(
        customer=customer, to=CustomerStatus.BLOCKED, reason=reason.strip(), actor=actor, via=via
    )


@transaction.atomic
def customer_unblock(*, customer: Customer, reason: str = "", actor: User | None, via: str = "") -> Customer:
    return _customer_transition(
        customer=customer, to=CustomerStatus.ACTIVE, reason=reason.strip(), actor=actor, via=via
    )


@transaction.atomic
def product_create(*, actor: User | None, via: str = "", **data) -> Product:
    _require(actor, "product.edit", _("You may not create products."))
    product = Product(**data)
    _save_validated(product, unique_error={"sku": _("SKU %s is taken.") % product.sku})
    audit_created(instance=product, actor=actor, via=via)
    return product


@transaction.atomic
def product_update(*, product: Product, actor: User | None, via: str = "", **data) -> Product:
    _require(actor, "product.edit", _("You may not change products."))
    product = Product.objects.select_for_update().get(pk=product.pk)
    before = snapshot(product)
    for field, value in data.items():
        setattr(product, field, value)
    _save_validated(product, unique_error={"sku": _("SKU %s is taken.") % product.sku})
    audit_changed(instance=product, before=before, actor=actor, via=via)
    return product


@transaction.atomic
def company_create(*, actor: User | None, via: str = "", **data) -> Company:
    _require(actor, "company.edit", _("Only an administrator may set up the company."))
    company = Company(**data)
    return _create_audited(company, actor=actor, via=via)


@transaction.atomic
def company_update(*, company: Company, actor: User | None, via: str = "", **data) -> Company:
    _require(actor, "company.edit", _("Only an administrator may change the company."))
    company = Company.objects.select_for_update().get(pk=company.pk)
    before = snapshot(company)
    for field, value in data.items():
        setattr(company, field, value)
    company.full_clean()
    company.save()
    audit_changed(instance=company, before=before, actor=actor, via=via)
    return company


@transaction.atomic
def number_series_create(*, company: Company, actor: User | None, via: str = "", **data) -> NumberSeries:
    _require(actor, "company.edit", _("Only an administrator may add number series."))
    series = NumberSeries(company=company, **data)
    return _create_audited(series, actor=actor, via=via)


@transaction.atomic
def bank_account_create(*, company: Company, actor: User | None, via: str = "", **data) -> BankAccount:
    _require(actor, "company.edit", _("Only an administrator may add bank accounts."))
    account = BankAccount(company=company, **data)
    return _create_audited(account, actor=actor, via=via)


@transaction.atomic
def vat_category_create(*, actor: User | None, via: str = "", **data) -> VatCategory:
    _require(actor, "vat.edit", _("Only an administrator may add VAT categories."))
    category = VatCategory(**data)
    return _create_audited(category, actor=actor, via=via)


@transaction.atomic
def vat_rate_add(*, category: VatCategory, actor: User | None, via: str = "", **data) -> VatRate:
    """Add a rate for a period. Rates are never edited in place: a change is a new period."""
    _require(actor, "vat.edit", _("Only an administrator may change VAT rates."))
    VatCategory.objects.select_for_update().get(pk=category.pk)  # one rate change per category at a time
    rate = VatRate(category=category, **data)
    return _create_audited(rate, actor=actor, via=via)
