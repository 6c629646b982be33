"""The production web server: uWSGI started from o2c/uwsgi.ini, as the image starts it, in front of
the test database. What the docs promise of it: e-orders and their replays over real HTTP, 413
before a large body is read, `Connection: close`, the combined access-log line, and a SIGTERM
that lets the request in flight finish."""

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from orders.models import Order

ROOT = Path(settings.BASE_DIR)
UWSGI = Path(sys.executable).with_name("uwsgi")
ORDER = {
    "customer": "10001",
    "channel": "webshop",
    "external_reference": "UW-1",
    "lines": [{"sku": "HP-8", "quantity": "1"}, {"sku": "BOOK", "quantity": "2"}],
}

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def uwsgi_binary():
    if not UWSGI.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{UWSGI} is missing in CI: pyuwsgi is a dependency on Linux")
        pytest.skip("uWSGI (pyuwsgi) is installed on Linux only")
    return UWSGI


@pytest.fixture
def shop_token(company):
    from orders.migrations import _seed
    from tests.factories import CustomerFactory, ProductFactory, user_with_role, vat_category

    _seed.vat()  # transactional tests start without the VAT categories the migration seeded
    CustomerFactory(number="10001", credit_limit=Decimal("100000000"))
    ProductFactory(sku="HP-8", vat_category=vat_category("standard"))
    ProductFactory(sku="BOOK", vat_category=vat_category("reduced_culture"))
    return Token.objects.create(user=user_with_role("sales")).key


@pytest.fixture
def server(uwsgi_binary, shop_token, tmp_path):
    """uWSGI with the image's ini and production settings, 2 workers, on a free port."""
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UWSGI_", "DJANGO_ALLOW_ASYNC"))}
    env.update(
        DJANGO_SETTINGS_MODULE="o2c.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        O2C_SSL_REDIRECT="false",
        O2C_VAR_DIR=str(tmp_path),
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        O2C_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
    )
    log = tmp_path / "uwsgi.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(uwsgi_binary), "--ini", str(ROOT / "o2c" / "uwsgi.ini")],
            cwd=tmp_path,  # the ini finds the code by its own path, not the working directory
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"uWSGI exited: {log.read_text()[-3000:]}"
            try:
                status, _, _ = request(port, "GET", "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no /healthz within 60 s: {log.read_text()[-3000:]}"
            time.sleep(0.2)
        yield {"port": port, "process": process, "log": log, "token": shop_token}
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Host": "127.0.0.1", **(headers or {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def post_order(server, key: str, body: dict = ORDER):
    headers = {
        "Authorization": f"Token {server['token']}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    return request(server["port"], "POST", "/api/v1/orders/", json.dumps(body).encode(), headers)


def test_an_e_order_and_its_replay_over_http(server):
    status, headers, first = post_order(server, "uw-key-1")
    assert status == 201, first
    assert json.loads(first)["status"] == "awaiting_release"
    assert headers["Connection"] == "close"  # a sync worker serves one request per connection
    assert headers["X-Content-Type-Options"] == "nosniff"

    status, headers, again = post_order(server, "uw-key-1")
    assert (status, again) == (201, first)  # the first answer's bytes
    assert headers["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def post_head(server, length_header: bytes) -> bytes:
    """The head of an order POST with the given length header, as http.client would not send it."""
    return (
        b"POST /api/v1/orders/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token %s\r\n"
        b"Content-Type: application/json\r\n%s\r\n\r\n" % (server["token"].encode(), length_header)
    )


def send_raw(port: int, data: bytes, *, rest: bytes = b"", before_rest=None) -> bytes:
    """Send `data` as it is; then, if given, call `before_rest()` and send `rest`; read the answer
    until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        if before_rest is not None:
            before_rest()
        if rest:
            sock.sendall(rest)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_body_over_1_mb_is_refused_with_413_before_it_is_read(server):
    answer = send_raw(server["port"], post_head(server, b"Content-Length: 1100000") + b'{"lines": [')
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert not Order.objects.exists()


def test_a_chunked_body_is_refused_with_411_saying_to_send_a_content_length(server):
    body = json.dumps(ORDER).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    answer = send_raw(server["port"], post_head(server, b"Transfer-Encoding: chunked") + chunked)
    assert answer.startswith(b"HTTP/1.1 411 "), answer[:300]
    assert b"Content-Length" in answer.split(b"\r\n\r\n", 1)[1]
    assert not Order.objects.exists()


def test_each_request_writes_the_combined_access_log_line(server):
    post_order(server, "uw-key-2")
    deadline = time.monotonic() + 5
    pattern = re.compile(
        r'^127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "POST /api/v1/orders/ HTTP/1\.1" 201 '
        r'(\d+) "-" "[^"]*" \d+ms$',
        re.MULTILINE,
    )
    while not (match := pattern.search(server["log"].read_text())) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert match, server["log"].read_text()[-3000:]
    assert int(match.group(1)) > 500  # the body's size, the headers not counted


def test_sigterm_lets_the_request_in_flight_finish_then_stops(server):
    body = json.dumps({**ORDER, "external_reference": "UW-TERM"}).encode()

    def terminate_while_a_worker_waits_for_the_body():
        time.sleep(1.0)
        server["process"].send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server["process"].poll() is None, "uWSGI stopped with a request in flight"

    # Half a request first: a worker has taken it and waits for the rest of the body.
    answer = send_raw(
        server["port"],
        post_head(server, b"Content-Length: %d" % len(body)) + body[:20],
        rest=body[20:],
        before_rest=terminate_while_a_worker_waits_for_the_body,
    )
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:300]
    assert server["process"].wait(30) == 0
    assert Order.objects.filter(external_reference="UW-TERM").count() == 1
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server["port"]), timeout=5).close()
