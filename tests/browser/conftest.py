"""Browser tests: Debian's Chromium driven through Playwright's sync API against pytest-django's live_server.

Every test here uses `live_server`, so it runs with transactional database access: the live server
answers from another thread and must see committed rows. After each such test Django *flushes*
every table (TRUNCATE), and that takes the rows created by data migrations with it - the role
groups (common/0002) and the VAT categories and rates (orders/0002). Only the very first
transactional test of a session still finds them. `serialized_rollback=True` would reload them
before each test, but it is fragile here: once any *non*-serialized transactional test has run (e.g.
tests/common/test_platform.py, or another browser test), its flush re-creates the content types
with new ids through post_migrate, and the next serialized_rollback test then dies while loading
its snapshot (IntegrityError: duplicate key ... django_content_type_app_label_model). Tried and
seen on PostgreSQL. The customer and menu tests need nothing from orders/0002 (a customer has no
VAT category, the company fixture builds its own row), so the only migration data needed - the
role groups - is recreated by the autouse fixture below; without it, user_with_role() returns a
user with no group at all (checked: Group count 0 in the second live_server test).
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from playwright.sync_api import Browser, Page, expect, sync_playwright

from o2c.common.roles import Role

ARTIFACTS_DIR = Path(settings.BASE_DIR) / "test-artifacts"
PASSWORD = "secret-pass-123"  # what tests.factories.UserFactory sets
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (item.rep_setup / rep_call / rep_teardown) for fixtures."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser(chromium_path) -> Browser:
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(autouse=True)
def role_groups(transactional_db):
    """The role groups normally come from migration common/0002; a flush after an earlier
    transactional test removes them, and user_with_role() silently assigns no group when they
    are missing. Recreate them."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


@pytest.fixture
def page(browser, request) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.\[\]-]+", "_", request.node.name)
        try:
            page.screenshot(path=str(ARTIFACTS_DIR / f"{name}.png"), full_page=True)
        except Exception as exc:  # a dead page must not hide the test's own failure
            print(f"screenshot failed: {exc}")
    context.close()


def login(page: Page, live_server, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login page and wait for the start page."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_test_id("current-user")).to_have_text(username)
