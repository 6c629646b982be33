"""Every page and endpoint against every role: allowed ones answer, the rest get 403 (never 500)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from o2c.common.roles import CAPABILITIES, Role
from tests.factories import CustomerFactory, ProductFactory, user_with_role

# (method, path template, capability, form data for POSTs)
PAGES = [
    ("get", "/customers/", "customer.view", None),
    ("get", "/customers/new/", "customer.edit", None),
    ("get", "/customers/{customer}/", "customer.view", None),
    ("get", "/customers/{customer}/edit/", "customer.edit", None),
    ("post", "/customers/{customer}/block/", "customer.edit_credit", {"reason": "test"}),
    ("get", "/products/", "product.view", None),
    ("get", "/products/new/", "product.edit", None),
    ("get", "/products/{product}/", "product.view", None),
    ("get", "/products/{product}/edit/", "product.edit", None),
    ("get", "/company/", "company.view", None),
    ("get", "/company/edit/", "company.edit", None),
    ("get", "/vat/", "vat.view", None),
    ("post", "/vat/", "vat.edit", {"rate": "1"}),
    ("get", "/audit/", "audit.view", None),
    ("get", "/orders/", "order.view", None),
    ("get", "/orders/new/", "order.create", None),
    ("post", "/orders/new/lines/", "order.create", {"add": "X"}),
    ("get", "/orders/new/customers/", "order.create", None),
    ("get", "/orders/new/customers/{customer}/", "order.create", None),
    ("get", "/orders/new/products/", "order.create", None),
    ("get", "/orders/{order}/", "order.view", None),
    ("post", "/orders/{order}/cancel/", "order.cancel", {"cancel-reason": "test"}),
    ("post", "/orders/{order}/holds/", "order.hold", {"hold-reason": "test"}),
    ("post", "/orders/holds/{hold}/met/", "order.hold", {"note": "test"}),
]

API = [
    ("get", "/api/v1/customers/", "customer.view", None),
    ("post", "/api/v1/customers/", "customer.edit", {"name": ""}),
    ("get", "/api/v1/customers/{customer}/", "customer.view", None),
    ("patch", "/api/v1/customers/{customer}/", "customer.edit", {"name": "X AB"}),
    ("post", "/api/v1/customers/{customer}/block/", "customer.edit_credit", {"reason": "test"}),
    ("get", "/api/v1/products/", "product.view", None),
    ("post", "/api/v1/products/", "product.edit", {"sku": ""}),
    ("get", "/api/v1/products/{product}/", "product.view", None),
    ("patch", "/api/v1/products/{product}/", "product.edit", {"name": "Y"}),
]


@pytest.fixture
def records(company):
    from decimal import Decimal

    from orders import services

    customer, product = CustomerFactory(), ProductFactory()
    order = services.order_create(
        customer=customer, lines=[services.LineInput(sku=product.sku, quantity=Decimal(1))], actor=None, submit=False
    )
    hold = services.order_hold_add(order=order, reason="test", actor=None)
    return {"customer": customer.pk, "product": product.pk, "order": order.pk, "hold": hold.pk}


def cases(table):
    return [pytest.param(row, role, id=f"{role.value}-{row[0]}-{row[1]}") for row in table for role in Role]


@pytest.mark.parametrize(("row", "role"), cases(PAGES))
def test_pages_check_the_role(client, records, row, role):
    method, path, capability, data = row
    client.force_login(user_with_role(role))
    response = getattr(client, method)(path.format(**records), data=data or {})
    if role in CAPABILITIES[capability]:
        assert response.status_code in (200, 302, 400), response.status_code
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(("row", "role"), cases(API))
def test_api_checks_the_role(api_client_for, records, row, role):
    method, path, capability, data = row
    response = getattr(api_client_for(role), method)(path.format(**records), data, format="json")
    if role in CAPABILITIES[capability]:
        assert response.status_code in (200, 201, 400), response.content
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("row", PAGES, ids=lambda row: f"{row[0]}-{row[1]}")
def test_pages_send_anonymous_users_to_login(client, records, row):
    method, path, _, data = row
    response = getattr(client, method)(path.format(**records), data=data or {})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("row", API, ids=lambda row: f"{row[0]}-{row[1]}")
def test_api_without_a_token_is_401(api_client_for, records, row):
    method, path, _, data = row
    response = getattr(api_client_for(None), method)(path.format(**records), data, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_401(client, records):
    response = client.get("/api/v1/customers/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401


def test_a_user_without_role_sees_no_menu_and_gets_403(client, records, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))
    home = client.get("/")
    assert home.status_code == 200
    assert home.context["nav_items"] == []
    assert client.get("/customers/").status_code == 403


def test_every_page_url_is_covered_by_the_matrix_tests():
    from django.urls import get_resolver

    covered = {re.sub(r"\{\w+\}", "<int:pk>", path) for _, path, _, _ in PAGES}
    patterns = get_resolver().url_patterns
    orders_patterns = next(
        p for p in patterns if getattr(getattr(p, "urlconf_module", None), "__name__", "") == "orders.urls"
    )
    served = {"/" + str(p.pattern) for p in orders_patterns.url_patterns}
    assert served <= covered | {"/customers/<int:pk>/unblock/"}


def test_the_documented_permission_matrix_is_the_one_enforced():
    doc = (Path(settings.BASE_DIR) / "docs" / "architecture.md").read_text()
    table = doc.split("<!-- permission-matrix -->")[1]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = {role for role, cell in zip(Role, cells[1:], strict=True) if cell == "yes"}
    assert rows == {name: set(roles) for name, roles in CAPABILITIES.items()}


def test_api_tokens_are_cached_briefly_per_process(api_client_for, records, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from o2c.common.api_auth import CachedTokenAuthentication

    settings.O2C_API_TOKEN_CACHE_SECONDS = 60
    CachedTokenAuthentication._cache.clear()
    client = api_client_for("sales")
    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/v1/products/").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get("/api/v1/products/").status_code == 200
    assert len(second) < len(first)  # no token, user or role lookups
    Token.objects.filter(user=client.user).delete()
    assert client.get("/api/v1/products/").status_code == 200  # within the cache time
    CachedTokenAuthentication._cache.clear()  # the time has passed
    assert client.get("/api/v1/products/").status_code == 401
