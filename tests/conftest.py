import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from o2c.common.roles import Role
from tests.factories import CompanyFactory, user_with_role

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from that thread
# are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _find_shared_dir() -> Path:
    """The standards and tools beside the project: O2C_SHARED_DIR, else ../shared, else /work/shared
    (a fresh clone elsewhere on the same machine, as CI makes, still finds them)."""
    candidates = [os.environ.get("O2C_SHARED_DIR", ""), Path(settings.BASE_DIR).parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "tools" / "validate_peppol.py").is_file():
            return Path(candidate)
    return Path(settings.BASE_DIR).parent / "shared"


SHARED_DIR = _find_shared_dir()


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    engine = db["ENGINE"].rsplit(".", 1)[-1]
    where = f"{db.get('HOST') or 'local socket'}:{db.get('PORT') or ''}" if engine != "sqlite3" else db["NAME"]
    broker = settings.CELERY_BROKER_URL
    lines = [f"o2c database: {engine} ({where})", f"o2c broker: {broker}"]
    if engine == "sqlite3":
        lines.append("o2c: PostgreSQL did not answer - PostgreSQL-only tests will be skipped")
    if broker.startswith("memory"):
        lines.append("o2c: Redis did not answer - tests of the real broker path will be skipped")
    return lines


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    on_postgres = connection.vendor == "postgresql"
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL or start it on :5432)"))


@pytest.fixture(autouse=True)
def sqlite_flush_passes_append_only_tables(request):
    """On SQLite the flush after a transactional test is a DELETE, which the append-only triggers
    refuse (PostgreSQL flushes with TRUNCATE, which they do not see). Lift them for the flush only."""
    transactional = (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or any(marker.kwargs.get("transaction") for marker in request.node.iter_markers("django_db"))
    )
    if not transactional:
        yield
        return
    from django.db import connection

    from o2c.common.db import APPEND_ONLY_TABLES, sqlite_append_only_statements

    request.getfixturevalue("transactional_db")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for table in APPEND_ONLY_TABLES:
                for statement in sqlite_append_only_statements(table):
                    cursor.execute(statement)
    yield
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for table in APPEND_ONLY_TABLES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


@pytest.fixture
def company(db):
    return CompanyFactory()


@pytest.fixture
def role_user(db):
    """role_user("finance") -> a user with that role."""
    return lambda role, username=None: user_with_role(role, username)


@pytest.fixture
def api_client_for(db):
    """api_client_for("sales") -> an APIClient authenticated with a DRF token of a user in that role."""

    def make(role: Role | str | None) -> APIClient:
        client = APIClient()
        if role is not None:
            user = user_with_role(role)
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            client.user = user
        return client

    return make


@pytest.fixture
def shared_dir():
    if not SHARED_DIR.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the shared standards and tools: set O2C_SHARED_DIR (looked in {SHARED_DIR})")
        pytest.skip(f"../shared is not beside the project ({SHARED_DIR})")
    return SHARED_DIR


@pytest.fixture(scope="session")
def chromium_path():
    path = os.environ.get("O2C_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run should have installed it")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture
def celery_broker():
    """celery_broker(url) points the Celery app at a broker for one test.

    All three URLs: the CELERY_BROKER_URL environment variable (CI sets it) takes precedence over
    broker_url alone, and the app caches pools per URL.
    """
    from o2c.celery import app

    keys = ("broker_url", "broker_read_url", "broker_write_url")
    original = {key: app.conf[key] for key in keys}

    def use(url: str) -> None:
        for key in keys:
            app.conf[key] = url
        app._pool = None
        app.amqp._producer_pool = None

    yield use
    for key in keys:
        app.conf[key] = original[key]
    app._pool = None
    app.amqp._producer_pool = None
