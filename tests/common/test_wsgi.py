"""o2c.wsgi, as the web server's master imports it before forking the workers."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PROBE = """
import json, sys
from django.db import connections
import o2c.wsgi
print(json.dumps({
    "modules": [m for m in ("orders.api.views", "invoicing.views", "o2c.outbox.tasks", "celery.app.task")
                if m in sys.modules],
    "redis_transport": "kombu.transport.redis" in sys.modules,
    "open_connections": [c.alias for c in connections.all() if c.connection is not None],
}))
"""


def test_the_master_imports_what_a_first_request_would_and_connects_to_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DJANGO_SETTINGS_MODULE="o2c.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        O2C_VAR_DIR=str(tmp_path),
        # Addresses nothing listens on: importing must not need them.
        DATABASE_URL="postgres://nobody@127.0.0.1:9/none",
        CELERY_BROKER_URL="redis://127.0.0.1:9/0",
        PYTHONWARNINGS="ignore",
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=Path(settings.BASE_DIR), env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["modules"] == ["orders.api.views", "invoicing.views", "o2c.outbox.tasks", "celery.app.task"]
    assert probe["redis_transport"]
    assert probe["open_connections"] == []
