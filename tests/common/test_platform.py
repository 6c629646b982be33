"""The platform promises: deploy check, layering, demo data, OpenAPI, the real broker path."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from o2c.common.models import AuditEntry, Heartbeat
from orders.models import Company, Customer, Product

ROOT = Path(settings.BASE_DIR)
PRODUCTION_SERVERS = {
    "DATABASE_URL": "postgres://o2c@db.example:5432/o2c",
    "CELERY_BROKER_URL": "redis://redis.example:6379/0",
}


def run(*args, env=None):
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into a deployment check.
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env={**base, **(env or {})}, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    result = run(
        sys.executable,
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_SETTINGS_MODULE": "o2c.settings.production",
            "DJANGO_SECRET_KEY": "k" * 20 + "-random-" + "q" * 30,
            "DJANGO_ALLOWED_HOSTS": "o2c.example.com",
            **PRODUCTION_SERVERS,
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_a_missing_secret_key():
    result = run(
        sys.executable,
        "manage.py",
        "check",
        env={
            "DJANGO_SETTINGS_MODULE": "o2c.settings.production",
            "DJANGO_SECRET_KEY": "",
            "DJANGO_ALLOWED_HOSTS": "x",
            **PRODUCTION_SERVERS,
        },
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_refuse_to_fall_back_to_sqlite():
    result = run(
        sys.executable,
        "manage.py",
        "check",
        env={
            "DJANGO_SETTINGS_MODULE": "o2c.settings.production",
            "DJANGO_SECRET_KEY": "s" * 60,
            "DJANGO_ALLOWED_HOSTS": "x",
            "DATABASE_URL": "",
            "CELERY_BROKER_URL": "redis://r:6379/0",
        },
    )
    assert result.returncode != 0
    assert "DATABASE_URL must point" in result.stderr


def test_stages_depend_one_way():
    result = run(str(Path(sys.executable).parent / "lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout


def test_no_missing_migrations():
    result = run(
        sys.executable,
        "manage.py",
        "makemigrations",
        "--check",
        "--dry-run",
        env={"DJANGO_SETTINGS_MODULE": "o2c.settings.test"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_load_demo_is_idempotent():
    call_command("load_demo", "--quiet")
    counts = [m.objects.count() for m in (Company, Customer, Product, AuditEntry)]
    assert counts[1] >= 8 and counts[2] >= 10
    assert Customer.objects.filter(status="blocked").count() == 1
    call_command("load_demo", "--quiet")
    assert [m.objects.count() for m in (Company, Customer, Product, AuditEntry)] == counts


@pytest.mark.django_db
def test_load_demo_refuses_production(settings):
    from django.core.management.base import CommandError

    settings.O2C_DEMO_ALLOWED = False
    with pytest.raises(CommandError):
        call_command("load_demo")


@pytest.mark.django_db
def test_openapi_schema_documents_the_api_and_docs_work_offline(client):
    from tests.factories import user_with_role

    client.force_login(user_with_role("sales"))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/customers/", "/api/v1/products/", "/api/v1/customers/{id}/block/"} <= set(schema["paths"])
    assert (
        "TokenAuth" in str(schema["components"]["securitySchemes"])
        or "tokenAuth" in schema["components"]["securitySchemes"]
    )
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower() and "https://" not in docs.split("<body")[0]
    assert client.get("/api/redoc/").status_code == 200


@pytest.mark.django_db
def test_api_schema_needs_a_login(client):
    assert client.get("/api/schema/").status_code in (401, 403)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_heartbeat_over_the_broker(celery_broker):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs Redis (the real broker); set CELERY_BROKER_URL or start it on :6379")
    from celery.contrib.testing.worker import start_worker

    from o2c.celery import app
    from o2c.common.tasks import heartbeat

    celery_broker(settings.CELERY_BROKER_URL)
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=10):
        heartbeat.delay()
        for _ in range(100):
            if Heartbeat.objects.filter(name="worker").exists():
                break
            import time

            time.sleep(0.1)
    assert Heartbeat.objects.filter(name="worker").exists()
