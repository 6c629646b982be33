from decimal import Decimal

import pytest
from django.utils import translation

from o2c.common.templatetags.o2c import money


@pytest.mark.parametrize(
    ("language", "expected"),
    [("sv", "1\u00a0234,50\u00a0SEK"), ("nb", "1\u00a0234,50\u00a0SEK"), ("en", "1,234.50\u00a0SEK")],
)
def test_money_is_formatted_for_the_language(language, expected):
    with translation.override(language):
        assert money(Decimal("1234.5"), "SEK") == expected


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "word"), [("sv", "Kunder"), ("nb", "Kunder"), ("en", "Customers")])
def test_the_menu_speaks_the_users_language(client, language, word):
    from tests.factories import user_with_role

    client.force_login(user_with_role("sales"))
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    page = client.get("/").content.decode()
    assert word in page
    assert f'lang="{language}"' in page
