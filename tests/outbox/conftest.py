"""A real HTTP receiver for webhooks: a ThreadingHTTPServer on 127.0.0.1, answering from a script."""

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers each POST with the next status in `answers` (200 once they run out) and keeps what it got."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.answers: list[int] = []
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}/hooks/o2c"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.requests) < count:
            time.sleep(0.05)
        return self.requests


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        receiver: Receiver = self.server.receiver
        with receiver.lock:
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            status = receiver.answers.pop(0) if receiver.answers else 200
        answer = b"ok" if status < 300 else b"not now"
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args):  # keep test output quiet
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    server.receiver = receiver
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def no_default_subscribers(request):
    """Start each outbox test without the sales-rep e-mail subscriber that migration 0003 installs."""
    uses_db = {"db", "transactional_db"} & set(request.fixturenames) or request.node.get_closest_marker("django_db")
    if uses_db:
        from o2c.outbox.models import WebhookSubscription

        WebhookSubscription.objects.filter(name="Sales rep e-mail", kind="sales_rep_email").delete()
