"""The VAT seed of migration 0002, callable again by tests whose transactional flush removed it."""

from importlib import import_module


def vat() -> None:
    from django.apps import apps

    import_module("orders.migrations.0002_vat_rates").seed(apps, None)
