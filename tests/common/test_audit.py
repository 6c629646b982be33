import pytest
from django.db import DatabaseError, connection, transaction

from o2c.common.models import AuditEntry
from orders import services
from tests.factories import user_with_role


@pytest.fixture
def customer(db, company):
    return services.customer_create(
        actor=user_with_role("finance"),
        via="web",
        number="30001",
        name="Audit AB",
        country="SE",
        billing_street="Gatan 1",
        billing_postal_code="111 11",
        billing_city="Stockholm",
    )


def test_a_change_records_who_when_and_old_to_new(customer):
    finance = user_with_role("finance")
    services.customer_update(customer=customer, actor=finance, via="web", name="Audit Nya AB", credit_limit=5000)
    entry = AuditEntry.objects.filter(object_id=str(customer.pk), action="change").get()
    assert entry.actor == finance
    assert entry.via == "web"
    assert entry.changes == {"name": ["Audit AB", "Audit Nya AB"], "credit_limit": ["0.00", "5000"]}


def test_a_save_that_changes_nothing_writes_no_entry(customer):
    services.customer_update(customer=customer, actor=None, name="Audit AB")
    assert not AuditEntry.objects.filter(object_id=str(customer.pk), action="change").exists()


def test_the_audit_trail_refuses_updates_and_deletes_in_python(customer):
    entry = AuditEntry.objects.filter(object_id=str(customer.pk)).first()
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.all().update(note="rewritten")
    with pytest.raises(TypeError):
        AuditEntry.objects.all().delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE common_auditentry SET note = 'rewritten'",
        "DELETE FROM common_auditentry",
    ],
)
def test_the_database_refuses_updates_and_deletes(customer, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEntry.objects.filter(object_id=str(customer.pk), note="").exists()
