"""Swedish and Norwegian VAT categories and rates, with their e-invoice codes.

Rates change by law; a change is a new period (valid_from), never an edit, so old invoices keep
the rate they were made with. Sweden lowers the food rate from 12 % to 6 % for 2026-04-01 to
2027-12-31 (prop. 2025/26:1); the standard food category shows that as two periods.
"""

import datetime
from decimal import Decimal

from django.db import migrations

D = datetime.date
CATEGORIES = [
    # country, code, name, UNCL5305, exemption text, VATEX, [(rate, from, to)]
    ("SE", "standard", "Standard 25 %", "S", "", "", [("25", D(1990, 7, 1), None)]),
    ("SE", "reduced_food", "Food and hotels", "S", "", "",
     [("12", D(2012, 1, 1), D(2026, 3, 31)), ("6", D(2026, 4, 1), D(2027, 12, 31)), ("12", D(2028, 1, 1), None)]),
    ("SE", "reduced_culture", "Books, transport, culture 6 %", "S", "", "", [("6", D(2002, 1, 1), None)]),
    ("SE", "exempt", "Exempt from VAT", "E", "Undantag från skatteplikt, 3 kap. mervärdesskattelagen", "", [("0", D(1990, 7, 1), None)]),
    ("SE", "reverse_charge", "Reverse charge", "AE", "Omvänd skattskyldighet", "VATEX-EU-AE", [("0", D(1990, 7, 1), None)]),
    ("SE", "intra_eu", "Intra-EU supply of goods", "K", "Unionsintern leverans av varor", "VATEX-EU-IC", [("0", D(1995, 1, 1), None)]),
    ("SE", "export", "Export outside the EU", "G", "Export", "VATEX-EU-G", [("0", D(1990, 7, 1), None)]),
    ("NO", "standard", "Standard 25 %", "S", "", "", [("25", D(2005, 1, 1), None)]),
    ("NO", "reduced_food", "Food 15 %", "S", "", "", [("15", D(2012, 1, 1), None)]),
    ("NO", "reduced_transport", "Transport, hotels, culture 12 %", "S", "", "", [("12", D(2018, 1, 1), None)]),
    ("NO", "zero", "Zero rated (merverdiavgiftsloven kap. 6)", "Z", "", "", [("0", D(2010, 1, 1), None)]),
    ("NO", "exempt", "Outside the VAT act", "E", "Unntatt merverdiavgift", "", [("0", D(2010, 1, 1), None)]),
    ("NO", "reverse_charge", "Reverse charge", "AE", "Omvendt avgiftsplikt", "VATEX-EU-AE", [("0", D(2010, 1, 1), None)]),
    ("NO", "export", "Export", "G", "Utførsel av varer", "VATEX-EU-G", [("0", D(2010, 1, 1), None)]),
]


def seed(apps, schema_editor):
    VatCategory = apps.get_model("orders", "VatCategory")
    VatRate = apps.get_model("orders", "VatRate")
    for country, code, name, uncl, reason, vatex, rates in CATEGORIES:
        category, _ = VatCategory.objects.get_or_create(
            country=country, code=code,
            defaults={"name": name, "uncl5305_code": uncl, "exemption_reason": reason, "exemption_reason_code": vatex},
        )
        for rate, valid_from, valid_to in rates:
            VatRate.objects.get_or_create(
                category=category, valid_from=valid_from, defaults={"rate": Decimal(rate), "valid_to": valid_to}
            )


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
