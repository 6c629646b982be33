"""o2c.common.postgresql: BEGIN goes with a transaction's first statement and COMMIT with its last
writes, and transactions mean what they meant: all or nothing, seen by others only once committed."""

import psycopg2
import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, ProgrammingError, connection, transaction

from o2c.common.db import service_transaction

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the backend is PostgreSQL's"),
    pytest.mark.django_db(transaction=True),
]


def other_session_sees(name: str) -> bool:
    """Whether a second database session sees the group (committed, not just written)."""
    settings = connection.settings_dict
    with psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
    ) as other:
        with other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM auth_group WHERE name = %s", [name])
            return cursor.fetchone()[0] == 1


class Sent:
    """The text of each round trip psycopg2 sends (cursor.query), through Django's execute wrappers."""

    def __init__(self):
        self.texts: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        finally:
            self.texts.append((context["cursor"].cursor.query or b"").decode())


def test_the_engine_is_ours():
    assert connection.settings_dict["ENGINE"] == "o2c.common.postgresql"
    connection.ensure_connection()
    assert connection.connection.autocommit is True  # the wrapper opens transactions itself


def test_begin_goes_with_the_first_statement_and_nothing_is_seen_before_commit():
    sent = Sent()
    with connection.execute_wrapper(sent), transaction.atomic():
        Group.objects.create(name="in-transaction")
        assert sent.texts[0].startswith("BEGIN;\n")
        assert not other_session_sees("in-transaction")
        Group.objects.create(name="second")
        assert not sent.texts[1].startswith("BEGIN")  # one BEGIN per transaction
    assert other_session_sees("in-transaction") and other_session_sees("second")


def test_an_error_rolls_back_everything_before_it():
    with pytest.raises(RuntimeError), transaction.atomic():
        Group.objects.create(name="rolled-back")
        raise RuntimeError
    assert not Group.objects.filter(name="rolled-back").exists()
    assert not other_session_sees("rolled-back")


def test_a_statement_refused_before_it_was_sent_leaves_the_begin_for_the_next():
    with pytest.raises(RuntimeError), transaction.atomic():
        with pytest.raises(ProgrammingError, match="can't adapt"), connection.cursor() as cursor:
            cursor.execute("SELECT %s", [object()])
        Group.objects.create(name="after-refusal")  # must still be inside the transaction
        raise RuntimeError
    assert not Group.objects.filter(name="after-refusal").exists()


def test_savepoints_roll_back_their_part_only():
    with transaction.atomic():
        Group.objects.create(name="kept")
        with pytest.raises(IntegrityError), transaction.atomic():
            Group.objects.create(name="kept")  # unique name: refused, its savepoint rolled back
    assert other_session_sees("kept")


def test_a_server_side_cursor_inside_a_transaction():
    # Only this test's groups: the role groups are there or not, by what ran before in the process
    # (a transactional test's flush removes them).
    Group.objects.bulk_create([Group(name=f"cursor-g{i}") for i in range(5)])
    with transaction.atomic():
        Group.objects.create(name="cursor-g5")
        groups = Group.objects.filter(name__startswith="cursor-g").order_by("name")
        names = [g.name for g in groups.iterator(chunk_size=2)]
    assert names == [f"cursor-g{i}" for i in range(6)]


def test_a_service_chains_last_writes_go_with_the_commit():
    sent = Sent()
    insert = ("INSERT INTO auth_group (name) VALUES (%s)", ["with-commit"])
    with connection.execute_wrapper(sent):
        with service_transaction():
            Group.objects.create(name="first")
            connection.commit_with([insert])
            assert not Group.objects.filter(name="with-commit").exists()  # not sent yet
    assert sent.texts[-1].rstrip().endswith("COMMIT")
    assert "with-commit" in sent.texts[-1]
    assert other_session_sees("first") and other_session_sees("with-commit")


def test_writes_for_the_commit_are_dropped_by_a_rollback():
    with pytest.raises(RuntimeError), transaction.atomic():
        connection.commit_with([("INSERT INTO auth_group (name) VALUES (%s)", ["dropped"])])
        raise RuntimeError
    with transaction.atomic():
        Group.objects.create(name="next")  # the next transaction does not send them either
    assert not Group.objects.filter(name="dropped").exists()


def test_a_write_refused_at_commit_rolls_back_the_transaction_and_the_connection_goes_on():
    Group.objects.create(name="taken")
    with pytest.raises(IntegrityError), transaction.atomic():
        Group.objects.create(name="before")
        connection.commit_with([("INSERT INTO auth_group (name) VALUES (%s)", ["taken"])])
    assert not Group.objects.filter(name="before").exists()
    with transaction.atomic():
        Group.objects.create(name="afterwards")
    assert other_session_sees("afterwards")


def test_autocommit_cannot_be_turned_on_inside_a_transaction():
    transaction.set_autocommit(False)
    try:
        Group.objects.create(name="open")
        with pytest.raises(ProgrammingError, match="inside a transaction"):
            transaction.set_autocommit(True)
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert not Group.objects.filter(name="open").exists()


def test_without_a_transaction_statements_commit_on_their_own():
    Group.objects.create(name="autocommit")
    assert other_session_sees("autocommit")
    assert connection.connection.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
