"""Each role logs in through the real login page and sees exactly the menu its capabilities allow."""

import pytest
from django.urls import resolve, reverse
from django.utils import translation
from playwright.sync_api import expect

from o2c.common.context_processors import NAVIGATION
from o2c.common.roles import CAPABILITIES, Role
from tests.browser.conftest import login

pytestmark = pytest.mark.browser

# Pages without URL arguments that a role may or may not open: every menu entry plus the "new" and
# "edit" pages. Their capability is read from the view class, never copied here.
GUARDED_URL_NAMES = [url_name for _label, url_name, _capability in NAVIGATION] + [
    "orders:customer_create",
    "orders:product_create",
    "orders:company_edit",
]


def expected_menu(role: Role) -> list[str]:
    with translation.override("en"):
        return [str(label) for label, _url, capability in NAVIGATION if role in CAPABILITIES[capability]]


def forbidden_paths(role: Role) -> list[str]:
    paths = []
    for url_name in GUARDED_URL_NAMES:
        path = reverse(url_name)
        capability = resolve(path).func.view_class.capability
        if role not in CAPABILITIES[capability]:
            paths.append(path)
    return paths


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_menu_shows_exactly_what_the_role_may_open(page, live_server, role_user, company, role):
    user = role_user(role)
    login(page, live_server, user.username)

    menu = page.get_by_test_id("main-menu")
    expected = expected_menu(role)
    assert expected, f"{role} should see at least one menu entry"
    expect(menu.locator("a")).to_have_text(expected)

    # Every entry the role sees opens (no 403 behind a visible link) and is marked current.
    for label in expected:
        page.get_by_test_id("main-menu").get_by_role("link", name=label, exact=True).click()
        expect(page.get_by_test_id("main-menu").locator("a[aria-current=page]")).to_have_text(label)
        expect(page).not_to_have_title("Not allowed · o2c")

    # Every page the role may not open shows the 403 page (admin may open them all).
    forbidden = forbidden_paths(role)
    assert bool(forbidden) == (role != Role.ADMIN), f"{role}: {forbidden}"
    if role == Role.WAREHOUSE:
        assert reverse("orders:customer_list") in forbidden
    for path in forbidden:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 403, f"{role} opened {path}: HTTP {response.status}"
        expect(page.locator("main h1")).to_have_text("Not allowed")
        expect(page.get_by_test_id("main-menu").locator("a")).to_have_text(expected)


def test_wrong_password_shows_the_error_and_no_menu(page, live_server, role_user):
    user = role_user(Role.SALES)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")

    expect(page.get_by_role("alert")).to_contain_text("Your username and password did not match")
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_test_id("main-menu")).to_have_count(0)
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    # The username is kept, the password is not.
    expect(page.locator("#id_username")).to_have_value(user.username)
    expect(page.locator("#id_password")).to_have_value("")
