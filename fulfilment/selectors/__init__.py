"""Reads in the fulfilment stage: release.py (what is due and waiting), stock.py, shipping.py, returns.py."""

from .release import *  # noqa: F403
from .returns import *  # noqa: F403
from .shipping import *  # noqa: F403
from .stock import *  # noqa: F403
