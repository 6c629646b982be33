from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import module_has_submodule


class Command(BaseCommand):
    help = (
        "Load the demo company: each stage's demo.py, in flow order (INSTALLED_APPS). "
        "Idempotent: a second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args, **options):
        if not getattr(settings, "O2C_DEMO_ALLOWED", False):
            raise CommandError("Demo data is for local and test settings only (O2C_DEMO_ALLOWED is off).")
        logins = []
        with transaction.atomic():
            for app_config in apps.get_app_configs():
                if not module_has_submodule(app_config.module, "demo"):
                    continue
                module = import_module(f"{app_config.name}.demo")
                module.load()
                logins.extend(getattr(module, "DEMO_LOGINS", []))
        if options["quiet"]:
            return
        self.stdout.write(self.style.SUCCESS("Demo company loaded. Logins:"))
        for username, password, role in logins:
            self.stdout.write(f"  {username:<10} {password:<10} {role}")
