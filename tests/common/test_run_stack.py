"""`make run`'s last step: web, worker and beat start together, answer, and Ctrl-C stops all three."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(status.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc (Linux)")
def test_run_stack_starts_web_worker_and_beat_on_the_embedded_defaults_and_ctrl_c_stops_them(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(DJANGO_SETTINGS_MODULE="o2c.settings.local", O2C_VAR_DIR=str(tmp_path))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=180
    )
    port = free_port()
    stack = subprocess.Popen(
        [sys.executable, "manage.py", "run_stack", "--addr", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and health is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    health = json.load(response)
            except OSError:
                time.sleep(0.5)
        assert health is not None, "the web process never answered"
        assert health["database"] == {"ok": True, "vendor": "sqlite"}
        assert health["broker"] == {"ok": True, "transport": "filesystem"}
        children = children_of(stack.pid)
        assert len(children) == 3  # runserver, celery worker, celery beat

        stack.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output, _ = stack.communicate(timeout=30)
        assert stack.returncode == 0, output
        time.sleep(0.5)
        assert all(
            not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
            for pid in children
        ), "a process outlived Ctrl-C"
        assert "o2c is starting at http://127.0.0.1" in output
    finally:
        if stack.poll() is None:
            stack.kill()
