"""Test data builders. Records are built through the services where an audit row matters."""

from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from o2c.common.roles import Role
from orders.models import Company, Customer, Product, VatCategory


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "secret-pass-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            # get_or_create: transactional tests flush the groups the roles migration made.
            self.groups.set([Group.objects.get_or_create(name=Role(r).value)[0] for r in extracted])
        if create:
            self.save()


def user_with_role(role: Role | str, username: str | None = None) -> User:
    role = Role(role)
    return UserFactory(username=username or f"{role.value}-user", roles=[role])


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        django_get_or_create = ("org_number",)

    legal_name = "Testbolaget AB"
    org_number = "556123-4567"
    vat_number = "SE556123456701"
    street = "Testgatan 1"
    postal_code = "111 22"
    city = "Stockholm"
    country = "SE"
    base_currency = "SEK"
    f_skatt = True
    payment_reference_scheme = "ocr"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    number = factory.Sequence(lambda n: str(20000 + n))
    name = factory.Sequence(lambda n: f"Kund {n} AB")
    country = "SE"
    billing_street = "Kundgatan 2"
    billing_postal_code = "411 01"
    billing_city = "Göteborg"
    currency = "SEK"
    language = "sv"
    credit_limit = Decimal("100000.00")


def vat_category(code: str = "standard", country: str = "SE") -> VatCategory:
    return VatCategory.objects.get(country=country, code=code)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Produkt {n}")
    unit_price = Decimal("100.00")
    currency = "SEK"
    vat_category = factory.LazyFunction(vat_category)
    cost_price = Decimal("60.00")
