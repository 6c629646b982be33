"""Where the database and the broker are: from the environment, or the embedded defaults.

`make run` needs no server (SQLite and kombu's filesystem transport); `DATABASE_URL` and
`CELERY_BROKER_URL` switch to PostgreSQL and Redis. The test settings probe the standard local
ports so that `make test` uses the real servers whenever they answer.
"""

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("O2C_VAR_DIR", BASE_DIR / "var"))


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def url_answers(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme.startswith("sqlite") or parsed.scheme == "memory":
        return True
    default_ports = {"postgres": 5432, "postgresql": 5432, "pgsql": 5432, "redis": 6379, "rediss": 6379}
    host = parsed.hostname or "127.0.0.1"
    port = parsed.port or default_ports.get(parsed.scheme, 0)
    return bool(port) and port_answers(host, port)


def sqlite_database(name: str) -> dict:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(VAR_DIR / name),
        # Web, worker and beat share one SQLite file: WAL lets readers go on while one writes, and
        # IMMEDIATE transactions take the write lock up front instead of failing on an upgrade.
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def database_from_url(url: str) -> dict:
    # Persistent connections without a per-request health check (a SELECT 1 on every request):
    # Django already drops a connection that failed at the end of the request that saw the error.
    database = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=False)
    if database["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, with BEGIN and COMMIT sent with the statements around them (see there).
        database["ENGINE"] = "o2c.common.postgresql"
    return database


def filesystem_broker_options() -> dict:
    queue_dir = VAR_DIR / "broker" / "queue"
    processed_dir = VAR_DIR / "broker" / "processed"
    control_dir = VAR_DIR / "broker" / "control"
    for folder in (queue_dir, processed_dir, control_dir):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue_dir),
        "data_folder_out": str(queue_dir),
        "processed_folder": str(processed_dir),
        "store_processed": False,
        # Broadcast messages (worker remote control); kombu's default is ./control in the working dir.
        "control_folder": str(control_dir),
    }
