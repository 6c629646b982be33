from django.db import models
from django.utils.translation import gettext_lazy as _


class Country(models.TextChoices):
    """Countries we trade with; a company is in SE or NO, its customers anywhere here."""

    SE = "SE", _("Sweden")
    NO = "NO", _("Norway")
    DK = "DK", _("Denmark")
    FI = "FI", _("Finland")
    IS = "IS", _("Iceland")
    DE = "DE", _("Germany")
    NL = "NL", _("Netherlands")
    BE = "BE", _("Belgium")
    FR = "FR", _("France")
    ES = "ES", _("Spain")
    IT = "IT", _("Italy")
    PL = "PL", _("Poland")
    EE = "EE", _("Estonia")
    LV = "LV", _("Latvia")
    LT = "LT", _("Lithuania")
    AT = "AT", _("Austria")
    IE = "IE", _("Ireland")
    GB = "GB", _("United Kingdom")
    US = "US", _("United States")


COMPANY_COUNTRIES = [(Country.SE.value, Country.SE.label), (Country.NO.value, Country.NO.label)]

EU_COUNTRIES = {"SE", "DK", "FI", "DE", "NL", "BE", "FR", "ES", "IT", "PL", "EE", "LV", "LT", "AT", "IE"}


class Language(models.TextChoices):
    SV = "sv", _("Swedish")
    NB = "nb", _("Norwegian Bokmål")
    EN = "en", _("English")
