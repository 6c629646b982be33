"""Running work in threads that each have their own database connection (concurrency tests)."""

import threading

from django.db import connection


def in_threads(work, args: list, *, timeout: float = 120) -> tuple[list, list]:
    """Run work(arg) for each arg in its own thread, all released together; returns (results, errors)."""
    barrier = threading.Barrier(len(args))
    results: list = [None] * len(args)
    errors: list = []

    def run(index):
        try:
            barrier.wait(10)
            results[index] = work(args[index])
        except BaseException as exc:  # noqa: BLE001 - collected and checked by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(args))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors
