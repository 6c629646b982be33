"""Test settings: the real PostgreSQL and Redis whenever they answer.

DATABASE_URL / CELERY_BROKER_URL win when set. Otherwise the standard local ports are probed
(127.0.0.1:5432 as user postgres, 127.0.0.1:6379). With O2C_REQUIRE_SERVICES=1 (CI sets it) a server
that does not answer is an error, never a silent fall back to SQLite.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .services import database_from_url, port_answers, sqlite_database, url_answers

REQUIRE_SERVICES = os.environ.get("O2C_REQUIRE_SERVICES", "") == "1"

_database_url = os.environ.get("DATABASE_URL", "")
if not _database_url and port_answers("127.0.0.1", 5432):
    _database_url = "postgres://postgres@127.0.0.1:5432/o2c"
if _database_url and not url_answers(_database_url):
    raise ImproperlyConfigured(f"DATABASE_URL={_database_url} does not answer.")
if not _database_url and REQUIRE_SERVICES:
    raise ImproperlyConfigured("O2C_REQUIRE_SERVICES=1 but PostgreSQL does not answer on 127.0.0.1:5432.")
DATABASES = {"default": database_from_url(_database_url) if _database_url else sqlite_database("test.sqlite3")}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False

_broker_url = os.environ.get("CELERY_BROKER_URL", "")
if not _broker_url and port_answers("127.0.0.1", 6379):
    _broker_url = "redis://127.0.0.1:6379/15"
if _broker_url and not url_answers(_broker_url):
    raise ImproperlyConfigured(f"CELERY_BROKER_URL={_broker_url} does not answer.")
if not _broker_url and REQUIRE_SERVICES:
    raise ImproperlyConfigured("O2C_REQUIRE_SERVICES=1 but Redis does not answer on 127.0.0.1:6379.")
CELERY_BROKER_URL = _broker_url or "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}

SECRET_KEY = "test-only-secret-key-not-for-production-" + "x" * 20
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LANGUAGE_CODE = "en"
O2C_DEMO_ALLOWED = True
O2C_OUTBOX_KICK = False  # tests that exercise the broker path turn it on
O2C_API_TOKEN_CACHE_SECONDS = 0  # every test sees token changes at once

# Rendered documents (pick lists, later invoices) go to a throwaway folder, not var/media.
MEDIA_ROOT = __import__("tempfile").mkdtemp(prefix="o2c-test-media-")
