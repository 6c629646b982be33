"""Order ingest: new e-orders/s and replays/s through the web server + PostgreSQL, beside a pgbench ceiling.

    .venv/bin/python bench/order_ingest.py [--clients 16] [--seconds 30] [--workers 5]
                                           [--server uwsgi|gunicorn|granian]
                                           [--worker-class sync] [--threads 1]
                                           [--database-url postgres://postgres@127.0.0.1:5432/o2cbench]

What it does, in order (all on 127.0.0.1, stops by itself, about 3 minutes with the defaults):

1. Drops and recreates the bench database (its name must contain "bench"), migrates it and loads
   the demo company under o2c.settings.local, gives the demo customers a credit limit no order
   reaches (so orders are confirmed, not held), and creates an API user in the sales role with a
   DRF token. Customer, order, order-number and idempotency-key ids start at distinctive values
   so the captured SQL can be parametrised by plain text substitution (step 2).
2. Captures the exact SQL of one 3-line order and of one replay (Django test client under the
   production settings, `connection.execute_wrapper`, plus BEGIN/COMMIT and the per-request
   health-check `SELECT 1` that CONN_HEALTH_CHECKS sends), and writes two pgbench scripts with
   the same statements in the same round trips; each pgbench client prepares them once, as the
   app's database sessions do (o2c.common.db.execute_prepared).
3. Starts the web server the image runs (uWSGI with o2c/uwsgi.ini, production settings; gunicorn
   or granian with --server, for comparison), waits for /healthz,
   warms up, then runs N client processes (one lean HTTP/1.1 connection each, LeanHttpClient; sync
   workers close it after each answer and the client connects again) posting
   3-line orders with fresh Idempotency-Keys for --seconds, then replaying the keys of phase 1
   (same body) for --seconds. Prints requests, errors by status, orders/s, p50/p95/p99, and the
   CPU seconds used by the clients, the web server, PostgreSQL backends and Redis.
4. Profiles the web server's workers with py-spy for --profile-seconds under the same load (a
   separate phase, so sampling does not disturb the figures) and prints where the CPU goes.
5. Stops the web server and runs the pgbench scripts with the same client count: the ceiling.
6. Flushes Redis db 14 (the outbox kicks' Celery messages; no worker runs).

`--sweep` instead compares a few web server configurations with short runs.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PYSPY = str(Path(PYTHON).with_name("py-spy"))
REDIS_URL = "redis://127.0.0.1:6379/14"

# Distinctive first ids, so a captured statement's literal can be replaced by a pgbench variable.
CUSTOMER_ID_BASE = 543200000
ORDER_ID_BASE = 987650000
ORDER_NUMBER_BASE = 876540000
IDEMPOTENCY_ID_BASE = 765430000
ORDER_LINE_ID_BASE = 654320000
KEY_MARK = "ZZKEYMARKZZ"
REF_MARK = "ZZREFMARKZZ"

# Orders come from many business customers, as from a B2B portal or a shop's account customers:
# 400 bench customers numbered 31001..31400 after the 8 demo customers (ids base+9..base+408), so
# the credit check's customer lock is contended as in real traffic, not by 4 customers for all.
DEMO_CUSTOMER_COUNT = 8
FIRST_BENCH_CUSTOMER = 1001
BENCH_CUSTOMER_COUNT = 400
CUSTOMERS = [f"3{FIRST_BENCH_CUSTOMER + i}" for i in range(BENCH_CUSTOMER_COUNT)]
# Demo products without installation (installation adds holds: another path).
SKUS = ["TANK-300", "FILTER-STD", "PIPE-CU-15", "VALVE-3W", "THERMO-WIFI", "SERVICE-YEAR", "HANDBOOK", "FIKA-BOX"]
API_USER = "bench-api"


# Order bodies ------------------------------------------------------------------------------------


def order_key(n: int) -> str:
    return f"o2cb-{n}"


def order_body(n: int) -> bytes:
    """Order n: a 3-line web shop order; the same n always gives the same body (replays)."""
    lines = [{"sku": SKUS[(n + i * 3) % len(SKUS)], "quantity": str(1 + (n + i) % 5)} for i in range(3)]
    body = {
        "customer": CUSTOMERS[n % len(CUSTOMERS)],
        "channel": "webshop",
        "external_reference": f"o2cb-{n}",
        "lines": lines,
    }
    return json.dumps(body).encode()


# Environment -------------------------------------------------------------------------------------


def django_env(database_url: str, settings: str) -> dict:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO),
        DJANGO_SETTINGS_MODULE=settings,
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=REDIS_URL,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        O2C_SSL_REDIRECT="false",
        O2C_LOG_LEVEL="WARNING",
        PYTHONWARNINGS="ignore",
    )
    if settings.endswith("production"):
        env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(64)
    return env


def pg_args(database_url: str) -> tuple[list[str], str]:
    url = urlparse(database_url)
    if url.hostname not in ("127.0.0.1", "localhost"):
        sys.exit("The bench only talks to 127.0.0.1.")
    args = ["-h", url.hostname, "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    return args, url.path.lstrip("/")


def psql(database_url: str, sql: str, database: str | None = None) -> str:
    args, name = pg_args(database_url)
    out = subprocess.run(
        ["psql", *args, "-d", database or name, "-Atqc", sql], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def machine() -> dict:
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    return {"nproc": os.cpu_count(), "cpu": model, "mem_gb": round(mem_kb / 1024 / 1024, 1)}


def calibrate(database_url: str) -> dict:
    """How fast this machine is at the two things an order is made of, to compare runs across machines.

    Python: the best of 3 runs of a plain 5,000,000-step loop, in ms. PostgreSQL: `SELECT 1` round
    trips per second from one pgbench client over TCP for 5 s (a round trip and a tiny statement).
    The same code gave 69 and 114 orders/s on two machines of "the same kind"; these two numbers
    say how far apart such machines are.
    """
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    script = Path(tempfile.mkdtemp(prefix="o2c-calibrate-")) / "select1.sql"
    script.write_text("SELECT 1;\n")
    args, _name = pg_args(database_url)  # the server's own "postgres" database: the bench's may not exist yet
    out = subprocess.run(
        [
            shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench",
            *args,
            "-n",
            "-c",
            "1",
            "-T",
            "5",
            "-M",
            "simple",
            "-f",
            str(script),
            "postgres",
        ],
        capture_output=True,
        text=True,
    )
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout + out.stderr)
    return {"python_loop_ms": round(best * 1000), "select1_tps": round(float(tps.group(1))) if tps else None}


# Step 1 and 2: setup and capture (run in a child process with Django configured) ----------------


def _setup_database() -> None:
    """Child process, o2c.settings.local: migrate, demo data, credit limits, API user and token."""
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('orders_customer', 'id'), %s)", [CUSTOMER_ID_BASE])
    call_command("load_demo", quiet=True)

    from decimal import Decimal

    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from orders.models import Customer

    # Bench setup, not a business change: orders must be confirmed, not held for credit.
    Customer.objects.update(credit_limit=Decimal("1000000000000.00"))
    # Bench setup: stock no run can exhaust, so every line is reserved, never backordered (the
    # pgbench ceiling replays fixed reservation deltas).
    from fulfilment.models import StockItem

    StockItem.objects.update(on_hand=Decimal("100000000"))
    assert Customer.objects.count() == DEMO_CUSTOMER_COUNT
    Customer.objects.bulk_create(
        [
            Customer(
                number=number,
                name=f"Bench kund {number} AB",
                country="SE",
                currency="SEK",
                language="sv",
                billing_street="Benchgatan 1",
                billing_postal_code="111 11",
                billing_city="Stockholm",
                credit_limit=Decimal("1000000000000.00"),
            )
            for number in CUSTOMERS
        ]
    )
    for offset, number in enumerate(CUSTOMERS, start=DEMO_CUSTOMER_COUNT + 1):
        assert Customer.objects.get(number=number).pk == CUSTOMER_ID_BASE + offset, number
    user = User.objects.create_user(API_USER, email="bench@o2c.example")
    user.groups.set(Group.objects.filter(name="sales"))
    token = Token.objects.create(user=user)
    print(json.dumps({"token": token.key}))


def _capture(out_dir: str) -> None:
    """Child process, production settings: the SQL of one new order and one replay, as pgbench scripts."""
    import django

    django.setup()
    from django.db import close_old_connections, connections
    from django.test import Client
    from rest_framework.authtoken.models import Token

    conn = connections["default"]
    log: list[str] = []

    def wrapper(execute, sql, params, many, context):
        if params is None:
            log.append(sql)
        else:
            log.append(context["cursor"].cursor.mogrify(sql, params).decode())
        return execute(sql, params, many, context)

    # What the driver does around the statements Django's wrappers see.
    real_set_autocommit, real_commit, real_rollback = conn._set_autocommit, conn._commit, conn._rollback
    real_is_usable = conn.is_usable

    # o2c.common.postgresql sends BEGIN with the transaction's first statement, and COMMIT with
    # the writes a chain handed to commit_with (which the wrapper sees, COMMIT at their end).
    together = hasattr(conn, "commit_with")

    def set_autocommit(autocommit):
        if not autocommit:
            log.append("-- BEGIN (sent with the next statement)" if together else "-- BEGIN (sent alone)")
        return real_set_autocommit(autocommit)

    def commit():
        if not (together and conn.commit_statements):
            log.append("COMMIT")
        return real_commit()

    def rollback():
        log.append("ROLLBACK")
        return real_rollback()

    def is_usable():
        log.append("SELECT 1")
        return real_is_usable()

    conn._set_autocommit, conn._commit, conn._rollback, conn.is_usable = set_autocommit, commit, rollback, is_usable

    token = Token.objects.get(user__username=API_USER).key
    client = Client()
    body = json.dumps(
        {
            "customer": CUSTOMERS[0],
            "channel": "webshop",
            "external_reference": REF_MARK,
            "lines": [
                {"sku": "TANK-300", "quantity": "1"},
                {"sku": "FILTER-STD", "quantity": "4"},
                {"sku": "HANDBOOK", "quantity": "2"},
            ],
        }
    )
    # A few orders (and a replay) first, so the capture sees the steady state (caches warm, statements
    # prepared), not a first request. The PREPAREs seen on the way go to the top of the pgbench script.
    with conn.execute_wrapper(wrapper):
        for n in (90_000_001, 90_000_002, 90_000_003, 90_000_003):
            response = client.post(
                "/api/v1/orders/",
                data=order_body(n),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Token {token}",
                HTTP_IDEMPOTENCY_KEY=order_key(n),
                HTTP_HOST="127.0.0.1",
            )
            assert response.status_code == 201, (response.status_code, response.content[:500])
    prepares = [part for text in log for part in text.split(";\n") if part.startswith("PREPARE ")]
    with conn.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('orders_order', 'id'), %s)", [ORDER_ID_BASE])
        cursor.execute("SELECT setval('orders_order_number_seq', %s)", [ORDER_NUMBER_BASE])
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('common_idempotencykey', 'id'), %s)", [IDEMPOTENCY_ID_BASE]
        )
        cursor.execute("SELECT setval(pg_get_serial_sequence('orders_orderline', 'id'), %s)", [ORDER_LINE_ID_BASE])
    scripts = {}
    for phase in ("new", "replay"):
        # A WSGI server: request_started -> close_old_connections -> the next cursor runs a health check.
        # (The test client disconnects that signal, so do it by hand.)
        close_old_connections()
        log.clear()
        with conn.execute_wrapper(wrapper):
            response = client.post(
                "/api/v1/orders/",
                data=body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Token {token}",
                HTTP_IDEMPOTENCY_KEY=KEY_MARK,
                HTTP_HOST="127.0.0.1",
            )
        assert response.status_code == 201, (response.status_code, response.content[:500])
        # Confirmed by credit (then on to awaiting release once fulfilment reserves stock), not held.
        assert response.json()["status"] not in ("draft", "submitted", "credit_hold"), response.json()["status"]
        scripts[phase] = list(log)
        prepares += [part for text in log for part in text.split(";\n") if part.startswith("PREPARE ")]
    for phase, statements in scripts.items():
        raw = Path(out_dir) / f"captured_{phase}.sql"
        raw.write_text("".join(s.rstrip().rstrip(";") + ";\n" for s in statements))
        script = to_pgbench(statements, phase, prepares)
        (Path(out_dir) / f"pgbench_{phase}.sql").write_text(script)
    counts = {}
    for phase, texts in scripts.items():
        sent = [t for t in texts if not t.startswith("--")]
        counts[phase] = {"round_trips": len(sent), "statements": sum(len(t.split(";\n")) for t in sent)}
    print(json.dumps(counts))


def to_pgbench(statements: list[str], phase: str, prepares: list[str]) -> str:
    """The captured statements with fresh keys, references, ids and numbers per transaction.

    The app sends prepared statements (o2c.common.db.execute_prepared): each pgbench client
    prepares the same ones once, on its first transaction, and then sends the same EXECUTEs, one
    round trip where the app sends one (several statements joined with `\\;`).
    """
    order_id, number = ORDER_ID_BASE + 1, ORDER_NUMBER_BASE + 1
    customer_id = CUSTOMER_ID_BASE + DEMO_CUSTOMER_COUNT + 1
    prepared = {p.split()[1]: p for p in dict.fromkeys(prepares)}
    lines = [
        f"-- o2c {phase} order: the statements Django sent for one request, parametrised.",
        "\\if :prepared = 0",  # pgbench -D prepared=0; a client's \\set outlives its transaction
        *(p.rstrip(";") + ";" for p in prepared.values()),
        "\\set prepared 1",
        "\\endif",
        f"\\set c random({FIRST_BENCH_CUSTOMER}, {FIRST_BENCH_CUSTOMER + BENCH_CUSTOMER_COUNT - 1})",
        f"\\set cid {CUSTOMER_ID_BASE + DEMO_CUSTOMER_COUNT - FIRST_BENCH_CUSTOMER + 1} + :c",
    ]
    if phase == "new":
        lines.append("\\set k random(1, 1000000000000000)")
        key = "pgb-:k"
    else:
        lines.append("\\set n random(1, :nkeys)")
        key = "o2cb-:n"
    begin_with_next = False
    for text in statements:
        if text.startswith("-- BEGIN"):
            if "with the next" in text:
                begin_with_next = True
            else:
                lines.append("BEGIN;")
            continue
        parts = ["BEGIN"] if begin_with_next else []
        begin_with_next = False
        after: list[str] = []
        for sql in text.split(";\n"):
            if sql.startswith("PREPARE "):
                continue
            name = sql.split("(")[0].split()[-1] if sql.startswith("EXECUTE ") else ""
            if "o2c_ids" in prepared.get(name, ""):
                # The customer and products read that also takes the order's ids
                # (ordering._customer_products_and_new_ids): run as captured, its id and number kept
                # from its last row (\aset); pgbench cannot take a line id out of its array, so the
                # same round trip takes three more for the statements below.
                parts.append("SELECT " + ", ".join(f"nextval('orders_orderline_id_seq') AS l{i}" for i in (1, 2, 3)))
                sql = sql.replace(f"'{CUSTOMERS[0]}'", "'3:c'")
                parts.append(sql.rstrip().rstrip(";") + " \\aset")
                after = ["\\set o_id :o2c_order_id", "\\set nextval :o2c_order_number"]
                continue
            sql = sql.replace(KEY_MARK, key).replace(REF_MARK, key)
            sql = sql.replace(f"'{CUSTOMERS[0]}'", "'3:c'").replace(f'"{CUSTOMERS[0]}"', '"3:c"')
            sql = sql.replace(str(customer_id), ":cid")
            sql = sql.replace(str(order_id), ":o_id").replace(str(number), ":nextval")
            for position in (1, 2, 3):  # the order's lines (fulfilment allocates them: unique per line)
                sql = sql.replace(str(ORDER_LINE_ID_BASE + position), f":l{position}")
            parts.append(sql.rstrip().rstrip(";"))
        if parts and parts[-1].endswith("\\aset"):
            lines.append("\\;\n".join(parts))
        elif parts:
            lines.append("\\;\n".join(parts) + ";")
        lines.extend(after)
    return "\n".join(lines) + "\n"


# Step 3: the web server and the clients -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(
    *, server: str, port: int, workers: int, worker_class: str, threads: int, max_requests: int, log_dir: Path
) -> tuple[list[str], dict]:
    """The web server's command line and environment: the image's (uWSGI with o2c/uwsgi.ini) by
    default; gunicorn (the server until session 6) and granian for comparison, if installed."""
    if server == "uwsgi":
        # The ini the Dockerfile runs; the bench sets what an operator would: address and workers.
        cmd = [str(Path(PYTHON).with_name("uwsgi")), "--ini", str(REPO / "o2c" / "uwsgi.ini")]
        cmd += ["--logto", str(log_dir / "access.log")]
        cmd += ["--max-requests", str(max_requests)] if max_requests else []
        return cmd, {"O2C_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)}
    if server == "granian":
        cmd = [str(Path(PYTHON).with_name("granian")), "--interface", "wsgi", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--workers", str(workers), "--blocking-threads", str(threads)]
        cmd += ["--no-ws", "--http", "1", "--access-log", "--log-level", "warning", "o2c.wsgi:application"]
        return cmd, {}
    cmd = [str(Path(PYTHON).with_name("gunicorn")), "o2c.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    cmd += ["--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads)]
    cmd += ["--worker-tmp-dir", "/dev/shm", "--timeout", "60", "--preload"]
    cmd += ["--access-logfile", str(log_dir / "access.log"), "--error-logfile", str(log_dir / "error.log")]
    if max_requests:
        cmd += ["--max-requests", str(max_requests), "--max-requests-jitter", str(max_requests // 10)]
    return cmd, {}


def start_server(*, database_url: str, port: int, log_dir: Path, **config) -> subprocess.Popen:
    cmd, extra_env = server_command(port=port, log_dir=log_dir, **config)
    if not Path(cmd[0]).exists():
        sys.exit(f"{cmd[0]} is not installed: `.venv/bin/pip install {config['server']}` to compare it")
    return _wait_ready(cmd, {**django_env(database_url, "o2c.settings.production"), **extra_env}, port, log_dir)


def _wait_ready(cmd: list[str], env: dict, port: int, log_dir: Path) -> subprocess.Popen:
    with (log_dir / "error.log").open("ab") as errors:  # the child keeps its own copy of the file
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True
        )
    import http.client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the web server exited; see {log_dir}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    stop(proc)
    sys.exit("the web server did not answer /healthz within 60 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class BadResponse(Exception):
    """The server's answer was not a complete HTTP/1.1 response."""


class LeanHttpClient:
    """A minimal HTTP/1.1 client over one socket: the load generator, not the system under test.

    The clients share the 2 cores with the web server and PostgreSQL, so what they spend is taken from
    the server. http.client (email-parser header parsing, one send per header) cost 0.57-0.66 ms
    of CPU per request in session 3; this sends one prebuilt buffer and reads just the status line,
    the headers it needs and Content-Length bytes, like wrk or ab would. It reconnects when the
    server says `Connection: close` (sync workers, uWSGI's and gunicorn's, do after every answer).
    """

    def __init__(self, port: int, head: bytes, timeout: float = 30):
        self.port, self.head, self.timeout = port, head, timeout
        self.sock: socket.socket | None = None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def post(self, extra_headers: bytes, body: bytes) -> tuple[int, bytes]:
        """(status, header block) of the answer; its body is read and dropped."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = self.sock
        sock.sendall(b"%s%sContent-Length: %d\r\n\r\n%s" % (self.head, extra_headers, len(body), body))
        buffer = b""
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise BadResponse("connection closed before the headers")
            buffer += chunk
        headers = buffer[:end].lower()
        match = re.search(rb"\r\ncontent-length: *(\d+)", headers)
        if match is None:
            raise BadResponse("no Content-Length")
        missing = end + 4 + int(match.group(1)) - len(buffer)
        while missing > 0:
            chunk = sock.recv(max(missing, 65536))
            if not chunk:
                raise BadResponse("connection closed in the body")
            missing -= len(chunk)
        if b"\r\nconnection: close" in headers:
            self.close()
        return int(headers[9:12]), headers


def client_loop(
    index: int,
    clients: int,
    port: int,
    token: str,
    mode: str,
    start_at: float,
    stop_at: float,
    replay_upto: int,
    result_queue,
    base: int = 0,
) -> None:
    """One client: one connection (reopened when the server closes it), one request at a time, until stop_at."""
    head = (
        b"POST /api/v1/orders/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token %s\r\n"
        b"Content-Type: application/json\r\n" % token.encode()
    )
    latencies: list[float] = []
    statuses: collections.Counter = collections.Counter()
    keys_done: list[int] = []
    conn = LeanHttpClient(port, head)
    prepared: dict[int, tuple[bytes, bytes]] = {}
    # n runs over index+1, index+1+clients, ... so the clients' keys never collide; `base` keeps the
    # configurations of a --sweep apart (the same keys again would be replays, not new orders), and
    # the warm-up and the profile have key ranges of their own for the same reason (until session 5
    # the profile reused the new-order phase's keys, so it profiled replays).
    n = base + index + 1 + {"warmup": 10_000_000, "profile": 20_000_000}.get(mode, 0)
    k = 0
    while time.time() < start_at:
        time.sleep(0.001)
    cpu0 = os.times()
    while True:
        now = time.perf_counter()
        if time.time() >= stop_at:
            break
        if mode == "replay":
            n = base + index + 1 + (k % max(1, replay_upto)) * clients
        request = prepared.get(n)
        if request is None:
            request = (b"Idempotency-Key: %s\r\n" % order_key(n).encode(), order_body(n))
            if mode == "replay":  # the same few thousand requests again and again: build each once
                prepared[n] = request
        try:
            code, headers = conn.post(*request)
            status = str(code)
            if status == "201" and mode == "replay" and b"\r\nidempotent-replayed: true" not in headers:
                status = "201-not-replayed"
        except (OSError, BadResponse) as exc:
            status = type(exc).__name__
            conn.close()
        latencies.append(time.perf_counter() - now)
        statuses[status] += 1
        if mode != "replay" and status == "201":
            keys_done.append(n)
        k += 1
        if mode != "replay":
            n += clients
    cpu1 = os.times()
    conn.close()
    result_queue.put(
        {
            "index": index,
            "latencies": latencies,
            "statuses": dict(statuses),
            "keys": len(keys_done),
            "cpu": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
        }
    )


class CpuMeter:
    """CPU seconds of the web server (master, workers, reaped workers), the bench DB's backends and Redis."""

    def __init__(self, server_pid: int, database_url: str):
        self.server_pid = server_pid
        self.database_url = database_url
        self.tick = os.sysconf("SC_CLK_TCK")

    def _stat(self, pid: int) -> tuple[float, float]:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0, 0.0
        own = (int(fields[11]) + int(fields[12])) / self.tick
        children = (int(fields[13]) + int(fields[14])) / self.tick
        return own, children

    def _children(self, pid: int) -> list[int]:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def _pg_pids(self) -> list[int]:
        _, name = pg_args(self.database_url)
        out = psql(
            self.database_url, f"SELECT pid FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        return [int(p) for p in out.split()] if out else []

    def _redis_pids(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/comm") as f:
                        if f.read().strip() == "redis-server":
                            pids.append(int(entry))
                except OSError:
                    pass
        return pids

    def _machine(self) -> tuple[float, float]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]
        return (sum(values[:8]) - idle) / self.tick, sum(values[:8]) / self.tick

    def sample(self) -> dict:
        own, children = self._stat(self.server_pid)
        web = own + children + sum(self._stat(p)[0] for p in self._children(self.server_pid))
        pg = {p: self._stat(p)[0] for p in self._pg_pids()}
        redis = sum(self._stat(p)[0] for p in self._redis_pids())
        busy, total = self._machine()
        return {"web": web, "pg": pg, "redis": redis, "busy": busy, "total": total}

    @staticmethod
    def delta(a: dict, b: dict) -> dict:
        # A backend that ended in between loses its CPU since `a`; conn_max_age=60 makes that rare.
        pg = sum(b["pg"][p] - a["pg"].get(p, 0.0) for p in b["pg"])
        return {
            "web": b["web"] - a["web"],
            "postgres": pg,
            "redis": b["redis"] - a["redis"],
            "machine_busy": b["busy"] - a["busy"],
            "machine_total": b["total"] - a["total"],
        }


def run_phase(
    *,
    mode: str,
    clients: int,
    seconds: float,
    port: int,
    token: str,
    replay_upto: int = 0,
    meter: CpuMeter | None = None,
    base: int = 0,
) -> dict:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 0.5
    stop_at = start_at + seconds
    procs = [
        ctx.Process(
            target=client_loop, args=(i, clients, port, token, mode, start_at, stop_at, replay_upto, queue, base)
        )
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    while time.time() < start_at:
        time.sleep(0.001)
    before = meter.sample() if meter else None
    results = [queue.get(timeout=seconds + 120) for _ in procs]
    after = meter.sample() if meter else None
    for p in procs:
        p.join()
    latencies = sorted(x for r in results for x in r["latencies"])
    statuses: collections.Counter = collections.Counter()
    for r in results:
        statuses.update(r["statuses"])
    ok = statuses.get("201", 0)
    summary = {
        "mode": mode,
        "clients": clients,
        "seconds": seconds,
        "requests": len(latencies),
        "ok": ok,
        "errors": {s: c for s, c in statuses.items() if s != "201"},
        "per_second": ok / seconds,
        "p50_ms": pct(latencies, 50),
        "p95_ms": pct(latencies, 95),
        "p99_ms": pct(latencies, 99),
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else 0.0,
        "client_cpu_s": sum(r["cpu"] for r in results),
        "min_keys_per_client": min(r["keys"] for r in results),
    }
    if meter:
        summary["cpu"] = CpuMeter.delta(before, after)
    return summary


def wait_for_quiet(limit: float) -> None:
    """Other engineers share the machine: wait (at most `limit` s) until it is nearly idle."""
    deadline = time.monotonic() + limit
    while True:
        with open("/proc/stat") as f:
            a = [int(v) for v in f.readline().split()[1:8]]
        time.sleep(2)
        with open("/proc/stat") as f:
            b = [int(v) for v in f.readline().split()[1:8]]
        d = [y - x for x, y in zip(a, b, strict=True)]
        busy = 1 - (d[3] + d[4]) / max(1, sum(d))
        if busy < 0.15 or time.monotonic() > deadline:
            print(f"  (machine {100 * busy:.0f} % busy before the phase)")
            return


def pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index] * 1000


def print_phase(s: dict) -> None:
    label = {"new": "new orders", "replay": "replays"}.get(s["mode"], s["mode"])
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(s["errors"].items())) or "none"
    print(f"  {label}: {s['requests']} requests in {s['seconds']:.0f} s, 201: {s['ok']}, errors: {errors}")
    print(
        f"    {s['per_second']:.1f} {label}/s   latency p50 {s['p50_ms']:.1f} ms  p95 {s['p95_ms']:.1f} ms  "
        f"p99 {s['p99_ms']:.1f} ms  mean {s['mean_ms']:.1f} ms"
    )
    after = s.get("calibration_after")
    if after:
        # The machine's speed moves within minutes (session 6: the same code took 224-345 new
        # orders/s, every process spending 40 % more CPU per order in the slow runs); the line at
        # the start of the run does not see that, this one tells a slow spell from a slow change.
        print(
            f"    right after the phase: the Python loop {after['python_loop_ms']} ms, one pgbench client "
            f"{after['select1_tps']} SELECT 1/s"
        )
    cpu = s.get("cpu")
    if cpu:
        n = max(1, s["ok"])
        print(
            f"    CPU seconds: clients {s['client_cpu_s']:.1f}, web server {cpu['web']:.1f}, "
            f"postgres backends {cpu['postgres']:.1f}, redis {cpu['redis']:.1f}; machine busy "
            f"{cpu['machine_busy']:.1f} of {cpu['machine_total']:.1f} "
            f"({100 * cpu['machine_busy'] / max(cpu['machine_total'], 1e-9):.0f} %)"
        )
        ours = s["client_cpu_s"] + cpu["web"] + cpu["postgres"] + cpu["redis"]
        print(
            f"    other processes on the machine (not this bench): {max(0.0, cpu['machine_busy'] - ours):.1f} "
            "CPU seconds"
        )
        print(
            f"    per request: web server {1000 * cpu['web'] / n:.2f} ms, postgres "
            f"{1000 * cpu['postgres'] / n:.2f} ms, client {1000 * s['client_cpu_s'] / n:.2f} ms CPU"
        )


# Step 4: profile ---------------------------------------------------------------------------------

# Each CPU sample goes to the first bucket, in this order, with a frame matching one of its marks
# (py-spy raw format: "function (file:line)" frames, root first). Cross-cutting work comes first,
# so "credit check" is the lock + exposure query + transition, without its audit and outbox rows.
BUCKETS = [
    ("outbox kick after commit (Celery -> new Redis connection)", ["outbox_kick ("]),
    ("health-check SELECT 1 (CONN_HEALTH_CHECKS)", ["is_usable ("]),
    ("COMMIT, with the chain's last writes (o2c.common.postgresql)", ["_commit ("]),
    ("audit entries (audit_record, snapshot, ContentType)", ["o2c/common/audit.py"]),
    (
        "outbox event rows (event_record, payload JSON)",
        ["event_record (o2c/outbox", "event_record_many (o2c/outbox", "order_event_payload ("],
    ),
    ("fulfilment receivers (stock reservation, release delay)", ["fulfilment/"]),
    ("credit check (customer lock, exposure SUM, transition)", ["credit_check_order ("]),
    ("status transitions (lock, UPDATE, refresh_from_db)", ["_transition (orders/services", "refresh_from_db ("]),
    ("order_create: lookups, pricing, INSERTs", ["order_create (orders/services"]),
    ("input validation (order_create_input)", ["order_create_input (orders/api", "is_valid (rest_framework"]),
    ("response: order_get (reload with prefetch)", ["order_get (orders/selectors"]),
    (
        "response: order_representation (OrderSerializer)",
        ["order_representation (orders/api", "data (rest_framework/serializers"],
    ),
    ("replay answered early (token cache, key read)", ["replay_early (o2c/common"]),
    ("token auth (DRF TokenAuthentication)", ["authenticate (rest_framework"]),
    ("role lookup (HasCapability)", ["check_permissions (rest_framework"]),
    ("idempotency: fingerprint, key lookup/insert, store response", ["o2c/common/idempotency.py"]),
    ("rest: WSGI, middleware, DRF dispatch, JSON render, server I/O", [""]),
]
MECHANISMS = [
    ("psycopg2 execute (driver C code + waiting for PostgreSQL)", ["_execute (django/db/backends/utils"]),
    (
        "ORM: building querysets + compiling SQL",
        [
            "as_sql (django/db/models",
            "_filter_or_exclude (django",
            "_clone (django/db/models",
            "results_iter (django",
            "pre_sql_setup (django",
            "get_related_selections (django",
        ],
    ),
    ("ORM: model instances from rows (from_db)", ["from_db (django/db/models/base"]),
    ("Celery/kombu/redis-py", ["celery/", "kombu/", "redis/"]),
    ("json dumps/loads", ["json/"]),
    (
        "DRF fields (to_internal_value/to_representation)",
        ["to_internal_value (rest_framework", "to_representation (rest_framework"],
    ),
    ("gettext", ["gettext ("]),
]


def profile_summary(raw_file: Path) -> list[tuple[str, float]]:
    """Share of CPU samples (py-spy raw/collapsed format): exclusive buckets, then inclusive mechanisms."""
    total = 0
    buckets: collections.Counter = collections.Counter()
    mechanisms: collections.Counter = collections.Counter()
    leaf: collections.Counter = collections.Counter()
    for line in raw_file.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        c = int(count)
        frames = stack.split(";")
        if not any("o2c/wsgi" in f or "django/core/handlers" in f for f in frames):
            continue  # the server's master, or a worker booting
        total += c
        for label, marks in BUCKETS:
            if any(m in f for f in frames for m in marks):
                buckets[label] += c
                break
        for label, marks in MECHANISMS:
            if any(m in f for f in frames for m in marks):
                mechanisms[label] += c
        leaf[re.sub(r":\d+\)", ")", frames[-1])] += c
    share = 100 / max(total, 1)
    rows = [("-- where a request's CPU goes (exclusive buckets, sum 100 %)", 0.0)]
    rows += [(label, buckets[label] * share) for label, _ in BUCKETS]
    rows.append(("-- by mechanism (inclusive, overlapping)", 0.0))
    rows += [(label, mechanisms[label] * share) for label, _ in MECHANISMS]
    rows.append(("-- top leaf frames (self time)", 0.0))
    rows += [(name, c * share) for name, c in leaf.most_common(10)]
    rows.append((f"-- {total} samples", 0.0))
    return rows


def profile(*, master_pid: int, seconds: int, clients: int, port: int, token: str, out: Path) -> Path | None:
    if not Path(PYSPY).exists():
        print("  (py-spy not installed in the venv: `.venv/bin/pip install py-spy`; profile skipped)")
        return None
    raw = out / "profile.txt"
    spy = subprocess.Popen(
        [
            PYSPY,
            "record",
            "--pid",
            str(master_pid),
            "--subprocesses",
            "--rate",
            "250",
            "--duration",
            str(seconds),
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)
    run_phase(mode="profile", clients=clients, seconds=seconds - 2, port=port, token=token)
    try:
        spy.wait(seconds + 60)
    except subprocess.TimeoutExpired:
        spy.kill()
    return raw if raw.exists() else None


# Step 5: pgbench ---------------------------------------------------------------------------------


def pgbench(*, database_url: str, script: Path, clients: int, seconds: int, variables: dict) -> dict:
    args, name = pg_args(database_url)
    cmd = [
        shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench",
        *args,
        "-n",
        "-c",
        str(clients),
        "-j",
        "2",
        "-T",
        str(seconds),
        "-M",
        "simple",
        "-f",
        str(script),
    ]
    for k, v in variables.items():
        cmd += ["-D", f"{k}={v}"]
    cmd.append(name)
    out = subprocess.run(cmd, capture_output=True, text=True)
    text = out.stdout + out.stderr
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
    lat = re.search(r"latency average = ([\d.]+) ms", text)
    failed = re.search(r"number of failed transactions: (\d+)", text)
    if out.returncode or not tps:
        print(text[-3000:])
    return {
        "tps": float(tps.group(1)) if tps else 0.0,
        "latency_ms": float(lat.group(1)) if lat else 0.0,
        "failed": int(failed.group(1)) if failed else 0,
        "output": text,
    }


# Main --------------------------------------------------------------------------------------------


def fresh_database(database_url: str) -> None:
    _, name = pg_args(database_url)
    if "bench" not in name:
        sys.exit(f"Refusing to drop and recreate {name!r}: the bench database's name must contain 'bench'.")
    psql(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', database="postgres")
    psql(database_url, f'CREATE DATABASE "{name}"', database="postgres")


def child(action: str, database_url: str, settings: str, *extra: str) -> str:
    out = subprocess.run(
        [PYTHON, __file__, action, *extra],
        cwd=REPO,
        env=django_env(database_url, settings),
        capture_output=True,
        text=True,
    )
    if out.returncode:
        print(out.stdout[-2000:], out.stderr[-5000:])
        sys.exit(f"{action} failed")
    return out.stdout.strip().splitlines()[-1]


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--server",
        default="uwsgi",
        choices=["uwsgi", "gunicorn", "granian"],
        help="uwsgi: the image's server and o2c/uwsgi.ini; the others for comparison (--worker-class and "
        "--threads are gunicorn's; granian takes --threads as blocking threads)",
    )
    parser.add_argument(
        "--max-requests", type=int, default=20000, help="as the Dockerfile (workers recycle); 0 turns recycling off"
    )
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/o2cbench")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile-seconds", type=int, default=15, help="0 skips the py-spy profile")
    parser.add_argument("--pgbench-seconds", type=int, default=None, help="default: --seconds")
    parser.add_argument(
        "--quiet-wait",
        type=int,
        default=45,
        help="before each phase, wait up to this long for other load on the machine to stop",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="compare web server configurations (short runs; gunicorn must be installed)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    pgbench_seconds = args.pgbench_seconds or args.seconds

    info = machine()
    info["postgres"] = psql(args.database_url, "SHOW server_version", database="postgres")
    git = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    )
    info["code"] = git.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")
    info["date"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"machine: {info['nproc']} cores ({info['cpu']}), {info['mem_gb']} GB; PostgreSQL {info['postgres']}; "
        f"Python {sys.version.split()[0]}; code {info['code']}; {info['date']}"
    )
    info["calibration"] = calibrate(args.database_url)
    print(
        f"calibration: a 5M-step Python loop {info['calibration']['python_loop_ms']} ms; one pgbench client "
        f"{info['calibration']['select1_tps']} SELECT 1/s (less time and more per second: a faster machine)"
    )

    work = Path(tempfile.mkdtemp(prefix="o2c-bench-"))
    print(f"setup: fresh database {pg_args(args.database_url)[1]}, migrate, load_demo, API user (files in {work})")
    fresh_database(args.database_url)
    token = json.loads(child("--_setup", args.database_url, "o2c.settings.local"))["token"]
    counts = json.loads(child("--_capture", args.database_url, "o2c.settings.production", str(work)))
    print(
        f"captured: a new 3-line order is {counts['new']['statements']} statements in "
        f"{counts['new']['round_trips']} round trips, a replay {counts['replay']['statements']} in "
        f"{counts['replay']['round_trips']} (BEGIN and COMMIT included) -> {work}/pgbench_*.sql"
    )

    results: dict = {"machine": info, "config": vars(args), "captured_statements": counts}
    configs = [(args.server, args.worker_class, args.workers, args.threads)]
    if args.sweep:
        configs = [
            ("uwsgi", "sync", 4, 1),
            ("uwsgi", "sync", 5, 1),
            ("uwsgi", "sync", 6, 1),
            ("uwsgi", "sync", 8, 1),
            ("gunicorn", "sync", 5, 1),
            ("gunicorn", "gthread", 3, 2),
            ("granian", "sync", 2, 8),
            ("granian", "sync", 5, 1),
        ]
    try:
        for config_index, (server_kind, worker_class, workers, threads) in enumerate(configs):
            base = config_index * 100_000_000
            port = free_port()
            shape = (
                f"{workers} workers"
                if server_kind == "uwsgi"
                else f"{workers} {worker_class} workers x {threads} threads"
            )
            print(f"{server_kind}: {shape}, max-requests {args.max_requests or 'off'}, 127.0.0.1:{port}")
            server = start_server(
                database_url=args.database_url,
                port=port,
                log_dir=work,
                server=server_kind,
                workers=workers,
                worker_class=worker_class,
                threads=threads,
                max_requests=args.max_requests,
            )
            try:
                meter = CpuMeter(server.pid, args.database_url)
                run_phase(mode="warmup", clients=args.clients, seconds=args.warmup, port=port, token=token, base=base)
                wait_for_quiet(args.quiet_wait)
                seconds = min(args.seconds, 10) if args.sweep else args.seconds
                new = run_phase(
                    mode="new", clients=args.clients, seconds=seconds, port=port, token=token, meter=meter, base=base
                )
                new["calibration_after"] = calibrate(args.database_url)
                print_phase(new)
                if args.sweep:
                    results.setdefault("sweep", []).append(
                        {"config": [server_kind, worker_class, workers, threads], "new": new}
                    )
                    continue
                upto = new["min_keys_per_client"]
                # Phase 1's rows would otherwise be vacuumed by autovacuum during phase 2 (5-11 CPU
                # seconds of 60 in session 4): that is the new orders' cost, not the replays'.
                psql(args.database_url, "VACUUM ANALYZE")
                wait_for_quiet(args.quiet_wait)
                replay = run_phase(
                    mode="replay",
                    clients=args.clients,
                    seconds=args.seconds,
                    port=port,
                    token=token,
                    replay_upto=upto,
                    meter=meter,
                    base=base,
                )
                replay["calibration_after"] = calibrate(args.database_url)
                print_phase(replay)
                results.update(new=new, replay=replay)
                if args.profile_seconds:
                    print(f"profile: py-spy on the web server's workers, {args.profile_seconds} s of new orders")
                    raw = profile(
                        master_pid=server.pid,
                        seconds=args.profile_seconds,
                        clients=args.clients,
                        port=port,
                        token=token,
                        out=work,
                    )
                    if raw:
                        rows = profile_summary(raw)
                        results["profile"] = rows
                        for label, share in rows:
                            print(f"  {label}" if label.startswith("--") else f"  {share:5.1f} %  {label}")
            finally:
                stop(server)
        if args.sweep:
            return
        print(
            f"ceiling: pgbench, the captured statements, {args.clients} clients, -j 2, {pgbench_seconds} s "
            "(web server stopped)"
        )
        nkeys = results["new"]["min_keys_per_client"] * args.clients
        for phase in ("new", "replay"):
            bench = pgbench(
                database_url=args.database_url,
                script=work / f"pgbench_{phase}.sql",
                clients=args.clients,
                seconds=pgbench_seconds,
                variables={"nkeys": max(1, nkeys), "prepared": 0},
            )
            (work / f"pgbench_{phase}.out").write_text(bench.pop("output"))
            results[f"pgbench_{phase}"] = bench
            ours = results[phase]["per_second"]
            ratio = ours / bench["tps"] if bench["tps"] else 0.0
            results[f"ratio_{phase}"] = ratio
            print(
                f"  {phase}: pgbench {bench['tps']:.1f} tps (latency {bench['latency_ms']:.1f} ms, "
                f"failed {bench['failed']}); ours {ours:.1f}/s; ratio {ratio:.3f}"
            )
        new, replay = results["new"], results["replay"]
        print("summary:")
        print(
            f"  new orders {new['per_second']:.0f}/s (target >= 300), p99 {new['p99_ms']:.0f} ms (target <= 200)"
            f"; replays {replay['per_second']:.0f}/s (target >= 1500); ratios {results['ratio_new']:.2f} / "
            f"{results['ratio_replay']:.2f} (aim >= 0.2)"
        )
    finally:
        flush_redis()
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_setup":
        _setup_database()
    elif len(sys.argv) > 2 and sys.argv[1] == "--_capture":
        _capture(sys.argv[2])
    else:
        main()
