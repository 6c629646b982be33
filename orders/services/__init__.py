"""Writes in the orders stage: master data (masterdata.py) and orders (ordering.py)."""

from .masterdata import *  # noqa: F403
from .ordering import *  # noqa: F403
