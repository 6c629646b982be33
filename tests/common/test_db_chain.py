"""The transaction machinery services share (o2c/common/db.py): deferred writes at the end of a
chain of services, errors explained after the rollback, prepared statements and plain reads."""

import asyncio
import threading

import pytest
from django.db import DEFAULT_DB_ALIAS, DataError, IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from o2c.common.db import (
    chain_execute,
    chain_explain,
    chain_flush,
    chain_insert,
    default_connection,
    execute_prepared,
    insert_statement,
    instances_where,
    integrity_constraint,
    service_transaction,
)
from o2c.common.exceptions import ApplicationError, ErrorCode
from o2c.common.models import AuditEntry
from orders.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def note_row(note: str) -> tuple[str, list]:
    return (
        "INSERT INTO common_auditentry (content_type_id, object_id, object_repr, action, changes, note, via, at) "
        "SELECT id, '1', 'test', 'change', '{}', %s, 'test', CURRENT_TIMESTAMP FROM django_content_type LIMIT 1",
        [note],
    )


def notes() -> list[str]:
    return list(AuditEntry.objects.order_by("pk").values_list("note", flat=True))


def test_deferred_writes_wait_for_the_chain_end_and_go_in_one_round_trip():
    with CaptureQueriesContext(connection) as captured:
        with service_transaction():
            chain_execute(*note_row("second"))
            chain_execute(*note_row("first"), first=True)
            chain_execute(*note_row("third"))
            # Nothing is written while the chain runs ...
            assert notes() == []
    # ... and at its end all three are, "first" first, in one statement sent.
    assert notes() == ["first", "second", "third"]
    inserts = [q["sql"] for q in captured.captured_queries if "INSERT INTO common_auditentry" in q["sql"]]
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 3)


def test_a_nested_service_defers_to_the_outermost_chain():
    with service_transaction():
        with service_transaction():
            chain_execute(*note_row("inner"))
        assert notes() == []  # the inner block did not end the chain
    assert notes() == ["inner"]


def test_a_caller_that_catches_a_nested_services_error_cannot_commit_half_of_it():
    """The nested service has no savepoint: its error leaves the transaction marked for rollback."""
    with pytest.raises(transaction.TransactionManagementError), service_transaction():
        try:
            with service_transaction():
                chain_execute(*note_row("half"))
                raise ApplicationError(code=ErrorCode.VALIDATION, message="refused")
        except ApplicationError:
            pass
        assert connection.needs_rollback
        CustomerFactory()  # refused: "An error occurred in the current transaction"
    assert notes() == []
    assert not connection.needs_rollback  # the outer block rolled back and cleared it


def test_a_nested_service_inside_a_plain_atomic_block_gets_its_own_savepoint():
    """A caller that means to catch a service's error wraps it in transaction.atomic(): then only
    the service's own work is rolled back, and the caller's goes on."""
    with service_transaction():
        chain_execute(*note_row("kept"))
        try:
            with transaction.atomic(), service_transaction():
                chain_execute(*note_row("dropped"))
                raise ApplicationError(code=ErrorCode.VALIDATION, message="refused")
        except ApplicationError:
            pass
        assert not connection.needs_rollback
    assert notes() == ["kept"]


def test_a_chain_that_fails_writes_nothing_it_deferred():
    with pytest.raises(RuntimeError), service_transaction():
        chain_execute(*note_row("never"))
        raise RuntimeError("stop")
    assert notes() == []


def test_chain_flush_writes_a_deferred_batch_at_once():
    from o2c.common.db import chain_defer

    with service_transaction():
        chain_defer("notes", lambda items: [chain_execute(*note_row(n)) for n in items]).extend(["a", "b"])
        chain_flush("notes")
        assert notes() == ["a", "b"]  # written now, not at the chain's end


def key_row(key: str, client_id: int) -> tuple[str, list]:
    return (
        "INSERT INTO common_idempotencykey (client_id, key, method, path, request_hash, response_status, "
        "response_body, created_at, expires_at) "
        "VALUES (%s, %s, 'POST', '/', '', 201, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        [client_id, key],
    )


def test_an_integrity_error_at_the_chain_end_is_explained_after_the_rollback(admin_user):
    seen: list[str] = []

    def explain(error: IntegrityError):
        seen.append(integrity_constraint(error))
        assert notes() == []  # after the rollback: the connection answers queries again
        return ApplicationError(code=ErrorCode.CONFLICT, message="taken")

    with pytest.raises(ApplicationError) as raised, service_transaction():
        chain_execute(*note_row("lost"))
        chain_execute(*key_row("k-1", admin_user.pk))
        chain_execute(*key_row("k-1", admin_user.pk))  # the same key twice
        chain_explain(explain)
    assert raised.value.code == ErrorCode.CONFLICT
    if connection.vendor == "postgresql":
        assert seen == ["idempotency_client_key_uniq"]
    assert notes() == []


def test_an_error_no_explainer_knows_goes_up_as_it_was(admin_user):
    with pytest.raises(IntegrityError), service_transaction():
        chain_execute(*key_row("k-2", admin_user.pk))
        chain_execute(*key_row("k-2", admin_user.pk))
        chain_explain(lambda error: None)


def test_chain_insert_writes_instances_with_their_ids_and_marks_them_saved(admin_user):
    entries = [
        AuditEntry(
            content_type_id=1,
            object_id="7",
            object_repr="x",
            action="change",
            changes={"a": [1, 2]},
            actor=admin_user,
            via="test",
        )
        for _ in range(2)
    ]
    with service_transaction():
        chain_insert(entries)
        assert all(not e._state.adding for e in entries)
    stored = list(AuditEntry.objects.order_by("pk").values_list("changes", "actor_id", "at"))
    assert stored == [({"a": [1, 2]}, admin_user.pk, entries[0].at), ({"a": [1, 2]}, admin_user.pk, entries[1].at)]


def test_insert_statement_leaves_out_an_unset_primary_key():
    sql, params = insert_statement(AuditEntry, [AuditEntry(content_type_id=1, object_id="1", action="change")])
    assert '"id"' not in sql.split("VALUES")[0]
    assert len(params) == sql.count("%s")


@pytest.mark.postgres
def test_instances_where_reads_what_the_orm_reads(admin_user):
    customer = CustomerFactory(sales_rep=admin_user)
    (plain,) = instances_where(Customer, "orders_customer.id = %s", [customer.pk], related="sales_rep")
    orm = Customer.objects.select_related("sales_rep").get(pk=customer.pk)
    for field in Customer._meta.concrete_fields:
        assert getattr(plain, field.attname) == getattr(orm, field.attname), field.name
    assert plain.sales_rep == orm.sales_rep
    assert not plain._state.adding


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_prepared_statements_are_prepared_once_per_session_and_again_after_a_reconnect():
    def run() -> list[str]:
        with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
            execute_prepared(cursor, [("SELECT %s::int + 1", [41])])
            assert cursor.fetchone() == (42,)
        return [q["sql"] for q in captured.captured_queries]

    first, second = run(), run()
    assert first[0].startswith("PREPARE ") and "EXECUTE" in first[0]
    assert second[0].startswith("EXECUTE ")
    # A new session has none of the old one's statements.
    connection.close()
    assert run()[0].startswith("PREPARE ")


@pytest.mark.postgres
def test_a_failed_round_trip_forgets_what_it_prepared():
    # PREPARE outlives the rollback, but a failed round trip may not have reached it: the statement
    # is prepared again, under a new name, the next time.
    sql = "SELECT %s::int / %s::int"
    with pytest.raises(DataError), transaction.atomic(), connection.cursor() as cursor:
        execute_prepared(cursor, [(sql, [1, 0])])
    with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
        execute_prepared(cursor, [(sql, [6, 1])])
        assert cursor.fetchone() == (6,)
    assert captured.captured_queries[0]["sql"].startswith("PREPARE ")


def test_default_connection_is_djangos_for_this_thread():
    assert default_connection() is connections[DEFAULT_DB_ALIAS]
    assert default_connection() is default_connection()
    seen = {}

    def in_another_thread():
        seen["thread"] = default_connection()
        seen["django"] = connections[DEFAULT_DB_ALIAS]
        seen["thread"].close()

    worker = threading.Thread(target=in_another_thread)
    worker.start()
    worker.join()
    assert seen["thread"] is seen["django"]
    assert seen["thread"] is not default_connection()  # never a connection shared across threads

    async def in_a_task():
        # Under a running event loop, Django's lookup each time (its connections are per task there).
        return default_connection() is connections[DEFAULT_DB_ALIAS]

    assert asyncio.run(in_a_task())
