"""The database refuses to change an issued invoice or credit note (issue 6).

Python checks are not enough: a manual UPDATE, a bug or a stray admin action must not be able to
alter what a customer was sent. From issue on, only the status (forward only), the sending and
payment times and the rendered PDF file may change; lines, allowances and charges are frozen, and
an issued document cannot be deleted. Corrections are credit notes.
"""

from django.db import migrations

ISSUED = "('issued', 'sent', 'paid')"
# Columns an issued document may still change: its status (forward), when it was sent and paid,
# and where its rendered PDF lies.
FROZEN_COLUMNS = [
    "company_id",
    "kind",
    "series_id",
    "sequence",
    "number",
    "customer_id",
    "order_id",
    "credited_invoice_id",
    "rma_id",
    "run_id",
    "currency",
    "language",
    "issue_date",
    "delivery_date",
    "period_start",
    "period_end",
    "payment_terms_days",
    "due_date",
    "early_payment_discount_percent",
    "early_payment_discount_days",
    "buyer_reference",
    "order_reference",
    "payment_reference",
    "reason",
    "note",
    "seller",
    "buyer",
    "reverse_charge",
    "net_amount",
    "allowance_amount",
    "charge_amount",
    "vat_amount",
    "gross_amount",
    "rounding_amount",
    "payable_amount",
    "exchange_rate",
    "exchange_rate_date",
    "vat_amount_base",
    "approvals_required",
    "created_by_id",
    "created_at",
    "issued_at",
    "issued_by_id",
    "ubl",
]
CHILD_TABLES = ["invoicing_invoiceline", "invoicing_invoiceallowancecharge", "invoicing_invoiceshipment"]


def _changed(distinct: str) -> str:
    return " OR ".join(f"NEW.{c} {distinct} OLD.{c}" for c in FROZEN_COLUMNS)


POSTGRES_FORWARD = f"""
CREATE OR REPLACE FUNCTION invoicing_invoice_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status IN {ISSUED} THEN
            RAISE EXCEPTION 'invoice % is issued: DELETE refused', OLD.number USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status IN {ISSUED} THEN
        IF NEW.status NOT IN {ISSUED} THEN
            RAISE EXCEPTION 'invoice % is issued: status % refused', OLD.number, NEW.status
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF {_changed("IS DISTINCT FROM")} THEN
            RAISE EXCEPTION 'invoice % is issued: UPDATE of its content refused', OLD.number
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER invoicing_invoice_immutable BEFORE UPDATE OR DELETE ON invoicing_invoice
    FOR EACH ROW EXECUTE FUNCTION invoicing_invoice_immutable();

CREATE OR REPLACE FUNCTION invoicing_child_immutable() RETURNS trigger AS $$
DECLARE
    parent_status text;
BEGIN
    SELECT status INTO parent_status FROM invoicing_invoice
        WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.invoice_id ELSE NEW.invoice_id END;
    IF parent_status IN {ISSUED} THEN
        RAISE EXCEPTION '% of an issued invoice: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.invoice_id IS DISTINCT FROM OLD.invoice_id THEN
        SELECT status INTO parent_status FROM invoicing_invoice WHERE id = OLD.invoice_id;
        IF parent_status IN {ISSUED} THEN
            RAISE EXCEPTION '% of an issued invoice: move refused', TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"CREATE TRIGGER {t}_immutable BEFORE INSERT OR UPDATE OR DELETE ON {t} "
    f"FOR EACH ROW EXECUTE FUNCTION invoicing_child_immutable();\n"
    for t in CHILD_TABLES
)

POSTGRES_BACKWARD = (
    "DROP TRIGGER IF EXISTS invoicing_invoice_immutable ON invoicing_invoice;"
    "DROP FUNCTION IF EXISTS invoicing_invoice_immutable();"
    + "".join(f"DROP TRIGGER IF EXISTS {t}_immutable ON {t};" for t in CHILD_TABLES)
    + "DROP FUNCTION IF EXISTS invoicing_child_immutable();"
)

SQLITE_FORWARD = [
    "CREATE TRIGGER invoicing_invoice_no_delete BEFORE DELETE ON invoicing_invoice "
    f"WHEN OLD.status IN {ISSUED} BEGIN SELECT RAISE(ABORT, 'invoice is issued: DELETE refused'); END;",
    "CREATE TRIGGER invoicing_invoice_no_update BEFORE UPDATE ON invoicing_invoice "
    f"WHEN OLD.status IN {ISSUED} AND (NEW.status NOT IN {ISSUED} OR {_changed('IS NOT')}) "
    "BEGIN SELECT RAISE(ABORT, 'invoice is issued: UPDATE of its content refused'); END;",
]
for _t in CHILD_TABLES:
    SQLITE_FORWARD += [
        f"CREATE TRIGGER {_t}_no_insert BEFORE INSERT ON {_t} "
        f"WHEN (SELECT status FROM invoicing_invoice WHERE id = NEW.invoice_id) IN {ISSUED} "
        f"BEGIN SELECT RAISE(ABORT, '{_t} of an issued invoice: INSERT refused'); END;",
        f"CREATE TRIGGER {_t}_no_update BEFORE UPDATE ON {_t} "
        f"WHEN (SELECT status FROM invoicing_invoice WHERE id = OLD.invoice_id) IN {ISSUED} "
        f"OR (SELECT status FROM invoicing_invoice WHERE id = NEW.invoice_id) IN {ISSUED} "
        f"BEGIN SELECT RAISE(ABORT, '{_t} of an issued invoice: UPDATE refused'); END;",
        f"CREATE TRIGGER {_t}_no_delete BEFORE DELETE ON {_t} "
        f"WHEN (SELECT status FROM invoicing_invoice WHERE id = OLD.invoice_id) IN {ISSUED} "
        f"BEGIN SELECT RAISE(ABORT, '{_t} of an issued invoice: DELETE refused'); END;",
    ]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS invoicing_invoice_no_delete;",
    "DROP TRIGGER IF EXISTS invoicing_invoice_no_update;",
]
for _t in CHILD_TABLES:
    SQLITE_BACKWARD += [f"DROP TRIGGER IF EXISTS {_t}_no_{op};" for op in ("insert", "update", "delete")]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
