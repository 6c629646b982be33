"""CPU per new e-order inside one process: the part of bench/order_ingest.py's figure that is ours.

    .venv/bin/python bench/order_cpu.py [--orders 300] [--profile] [--instructions] [--setup]
                                        [--database-url postgres://postgres@127.0.0.1:5432/o2cbench]

Posts 3-line e-orders with fresh Idempotency-Keys through Django's test client (no HTTP, no
gunicorn, one thread) under the production settings, against the database bench/order_ingest.py
sets up (`--setup` sets it up first: it drops and recreates that database). Prints the CPU
(process time) and wall time per order, best of 3 batches: on a shared machine the worst batch
says more about the neighbours than about the code. The wall time minus the CPU is mostly
PostgreSQL. With `--profile`, a fourth batch runs under cProfile and its top functions are printed
(cProfile roughly doubles Python's time; read shares, not milliseconds). It counts CPU time,
not waits for PostgreSQL, and is saved to /tmp/o2c-order-cpu.prof for pstats.

With `--instructions`, the process runs under valgrind's callgrind instead and prints the CPU
instructions per order over --orders orders (after the warm-up): slow (about 50 times), but the
same count for the same code whatever the neighbours do, so it tells a 2 % change from noise where
CPU seconds on a shared machine cannot. It counts our process only, not PostgreSQL.

gunicorn adds HTTP parsing, the access log and process switching to what this prints (about
1-3 ms per order in session 3). Use this to see whether a change to the order path helps
before running the full bench.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import itertools
import os
import pstats
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import order_ingest as ingest  # noqa: E402

PROFILE_FILE = "/tmp/o2c-order-cpu.prof"  # for pstats' print_callers / print_callees


def measure(orders: int, profile: bool, instructions: bool = False) -> None:
    """Child process, production settings."""
    import django

    django.setup()
    from django.test import Client
    from rest_framework.authtoken.models import Token

    token = Token.objects.get(user__username=ingest.API_USER).key
    client = Client()
    if instructions:
        # Under callgrind an order takes some 50 times as long, so what runs by the clock would
        # run far more often than at full speed: the outbox kick (at most one per 0.25 s, about
        # one per 80 orders at full speed, one per order here) and the 5-second caches of API
        # tokens and reference data. Turned off or stretched, the count is the same from run to
        # run (it moved by 0.6 M instructions an order before).
        from django.conf import settings

        settings.O2C_OUTBOX_KICK = False
        settings.O2C_API_TOKEN_CACHE_SECONDS = settings.O2C_REFERENCE_CACHE_SECONDS = 3600
    base = 500_000_000 + int(time.time()) % 100_000 * 1_000  # keys no earlier run used

    def post(n: int) -> None:
        response = client.post(
            "/api/v1/orders/",
            data=ingest.order_body(n),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
            HTTP_IDEMPOTENCY_KEY=ingest.order_key(n),
            HTTP_HOST="127.0.0.1",
        )
        assert response.status_code == 201, (response.status_code, response.content[:300])

    for n in range(base, base + 30):  # warm: imports, caches, prepared statements
        post(n)
    next_n = base + 30
    if instructions:
        # callgrind counts only inside itertools.starmap's next (--toggle-collect=starmap_next):
        # these posts and nothing before or after them.
        collections.deque(itertools.starmap(post, ((n,) for n in range(next_n, next_n + orders))), maxlen=0)
        return
    results = []
    for _batch in range(3):
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(next_n, next_n + orders):
            post(n)
        next_n += orders
        results.append(((time.process_time() - cpu) / orders * 1000, (time.perf_counter() - wall) / orders * 1000))
    cpu_ms, wall_ms = min(results)
    print(
        f"per new order, in-process, best of 3 x {orders}: {cpu_ms:.2f} ms CPU, {wall_ms:.2f} ms wall "
        f"(batches: {', '.join(f'{c:.2f}' for c, _ in results)} ms CPU)"
    )
    if profile:
        # process_time, not the wall clock: the profile shows this process's CPU, not PostgreSQL's.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for n in range(next_n, next_n + orders):
            post(n)
        profiler.disable()
        profiler.dump_stats(PROFILE_FILE)
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=300, help="orders per batch")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--instructions", action="store_true", help="count instructions under callgrind")
    parser.add_argument("--setup", action="store_true", help="drop, recreate and fill the bench database first")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/o2cbench")
    args = parser.parse_args()
    if args.setup:
        ingest.fresh_database(args.database_url)
        ingest.child("--_setup", args.database_url, "o2c.settings.local")
    calibration = ingest.calibrate(args.database_url)
    print(
        f"calibration: a 5M-step Python loop {calibration['python_loop_ms']} ms; one pgbench client "
        f"{calibration['select1_tps']} SELECT 1/s"
    )
    command = [sys.executable, __file__, "--_measure", str(args.orders), "1" if args.profile else "0"]
    env = ingest.django_env(args.database_url, "o2c.settings.production")
    if args.instructions:
        valgrind = shutil.which("valgrind") or sys.exit("--instructions needs valgrind (apt-get install valgrind)")
        out_file = "/tmp/o2c-order-callgrind.out"
        command = [
            valgrind,
            "--tool=callgrind",
            f"--callgrind-out-file={out_file}",
            "--collect-atstart=no",
            "--toggle-collect=starmap_next",
            *command[:-1],
            "2",
        ]
        done = subprocess.run(command, cwd=ingest.REPO, env=env, capture_output=True, text=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode or not found:
            print(done.stdout[-2000:], done.stderr[-3000:])
            sys.exit("callgrind run failed")
        print(
            f"instructions per new order (callgrind, {args.orders} orders, our process only): "
            f"{int(found.group(1)) / args.orders:,.0f}  (details: callgrind_annotate {out_file})"
        )
        ingest.flush_redis()
        return
    done = subprocess.run(command, cwd=ingest.REPO, env=env)
    ingest.flush_redis()
    sys.exit(done.returncode)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_measure":
        os.environ.setdefault("PYTHONWARNINGS", "ignore")
        measure(int(sys.argv[2]), sys.argv[3] == "1", sys.argv[3] == "2")
    else:
        main()
