"""Django's PostgreSQL backend (psycopg2), with a transaction's BEGIN and COMMIT sent in the
round trips of its first and last statements instead of in round trips of their own.

psycopg2 opens a transaction by sending BEGIN, alone, before the transaction's first statement,
and Django commits with COMMIT, alone, after the last: two of the eight round trips a new e-order
had, each costing both processes a wake-up and PostgreSQL a command (a `SELECT 1` round trip costs
a Django process 70-80 us of CPU on the bench machine). Here the driver stays in autocommit and
this wrapper opens transactions itself:

- when Django turns autocommit off (an outermost atomic block), BEGIN is only noted; the next
  statement goes out as `BEGIN; <statement>` in one round trip. Whether BEGIN reached the server
  is read from libpq afterwards, so a statement refused before it was sent leaves it pending;
- a commit sends COMMIT if a transaction is open, after the statements a service chain handed to
  `commit_with` (o2c.common.db.service_transaction: the writes that end its chain), in one round
  trip; a rollback sends ROLLBACK and drops them.

Everything else is Django's: savepoints, on_commit hooks, errors. Server-side cursors (iterator())
are declared WITH HOLD, as Django declares them in autocommit, after a BEGIN of their own.
ENGINE = "o2c.common.postgresql" (o2c.settings.services.database_from_url sets it).
"""

import psycopg2.extensions
from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction

IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE

_ISOLATION_SQL = {
    psycopg2.extensions.ISOLATION_LEVEL_READ_UNCOMMITTED: "BEGIN ISOLATION LEVEL READ UNCOMMITTED",
    psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED: "BEGIN ISOLATION LEVEL READ COMMITTED",
    psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ: "BEGIN ISOLATION LEVEL REPEATABLE READ",
    psycopg2.extensions.ISOLATION_LEVEL_SERIALIZABLE: "BEGIN ISOLATION LEVEL SERIALIZABLE",
}


class Connection(psycopg2.extensions.connection):
    """psycopg2's connection, always in autocommit; `begin_pending` while a transaction Django
    opened has not been begun on the server yet."""

    begin_pending = False
    begin_sql = "BEGIN"

    def cursor(self, *args, **kwargs):
        kwargs.setdefault("cursor_factory", Cursor)
        return super().cursor(*args, **kwargs)

    def begin_now(self) -> None:
        """Send a pending BEGIN in a round trip of its own (for what cannot carry it)."""
        if self.begin_pending:
            with super().cursor() as cursor:
                cursor.execute(self.begin_sql)
            self.begin_pending = False


class Cursor(psycopg2.extensions.cursor):
    """Sends a pending BEGIN with its statement."""

    def execute(self, query, vars=None):  # noqa: A002 - psycopg2's name
        conn = self.connection
        if not conn.begin_pending:
            return super().execute(query, vars)
        if self.name is not None or not isinstance(query, str):
            conn.begin_now()  # a named cursor wraps its query in DECLARE; a Composed is not text
            return super().execute(query, vars)
        try:
            return super().execute(f"{conn.begin_sql};\n{query}", vars)
        finally:
            # Refused before it was sent (a value psycopg2 cannot adapt): the BEGIN is still to come.
            conn.begin_pending = conn.get_transaction_status() == IDLE

    def executemany(self, query, vars_list):
        self.connection.begin_now()
        return super().executemany(query, vars_list)

    def callproc(self, procname, parameters=None):
        self.connection.begin_now()
        return super().callproc(procname, parameters)

    def copy_expert(self, sql, file, size=8192):
        self.connection.begin_now()
        return super().copy_expert(sql, file, size)

    def copy_from(self, *args, **kwargs):
        self.connection.begin_now()
        return super().copy_from(*args, **kwargs)

    def copy_to(self, *args, **kwargs):
        self.connection.begin_now()
        return super().copy_to(*args, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.commit_statements: list[tuple[str, list]] = []

    def get_connection_params(self):
        params = super().get_connection_params()
        params["connection_factory"] = Connection
        return params

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        isolation = self.settings_dict["OPTIONS"].get("isolation_level")
        if isolation is not None:
            connection.begin_sql = _ISOLATION_SQL[int(isolation)]
        connection.autocommit = True
        return connection

    def _set_autocommit(self, autocommit):
        # Django calls this after a commit or rollback (True) and to open a transaction (False).
        if autocommit and self.connection.get_transaction_status() != IDLE:
            with self.wrap_database_errors:  # as psycopg2 refuses it: commit or roll back first
                raise psycopg2.ProgrammingError("set_session cannot be used inside a transaction")
        self.connection.begin_pending = not autocommit

    def commit_with(self, statements: list[tuple[str, list]]) -> None:
        """Send these writes with the COMMIT of the current transaction, in its round trip; a
        rollback drops them. For the last writes of a transaction that is about to commit."""
        self.commit_statements.extend(statements)

    def _commit(self):
        statements, self.commit_statements = self.commit_statements, []
        if self.connection is None:
            return
        with debug_transaction(self, "COMMIT"), self.wrap_database_errors:
            if statements:
                from o2c.common.db import execute_prepared

                with self.cursor() as cursor:
                    execute_prepared(cursor, statements, then="COMMIT")
            elif self.connection.get_transaction_status() != IDLE:
                with self.connection.cursor() as cursor:
                    cursor.execute("COMMIT")
            # Outside atomic blocks with autocommit off (AUTOCOMMIT=False), the next statement opens
            # the next transaction.
            self.connection.begin_pending = not self.autocommit

    def _rollback(self):
        self.commit_statements = []
        if self.connection is None:
            return
        with debug_transaction(self, "ROLLBACK"), self.wrap_database_errors:
            if self.connection.get_transaction_status() != IDLE:
                with self.connection.cursor() as cursor:
                    cursor.execute("ROLLBACK")
            self.connection.begin_pending = not self.autocommit
