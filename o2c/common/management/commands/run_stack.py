"""Run the whole app in one terminal: web, Celery worker and Celery beat. Ctrl-C stops all three."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web app, a Celery worker and Celery beat together (what `make run` runs)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("O2C_ADDR", "127.0.0.1:8000"))

    def handle(self, *args, **options):
        addr = options["addr"]
        python = sys.executable
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "o2c.settings.local")}
        commands = {
            "web": [python, "manage.py", "runserver", addr, "--noreload"],
            # Two processes are plenty on a laptop; production scales workers out (docs/operations.md).
            "worker": [python, "-m", "celery", "-A", "o2c", "worker", "--loglevel", "INFO", "--concurrency", "2"],
            "beat": [python, "-m", "celery", "-A", "o2c", "beat", "--loglevel", "INFO"],
        }
        processes = {name: subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR) for name, cmd in commands.items()}
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
        self.stdout.write(
            self.style.SUCCESS(
                f"\no2c is starting at http://{addr}/  (database: {database}, broker: {broker})\n"
                "Log in as sales, warehouse, finance, manager or admin; the password is o2c-demo.\n"
                "API docs: /api/docs/   Health: /healthz   Stop with Ctrl-C.\n"
            )
        )
        exit_code = 0
        try:
            while True:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} stopped with exit code {process.returncode}; stopping the rest.")
                        exit_code = process.returncode or 1
                        raise KeyboardInterrupt
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
        sys.exit(exit_code)
