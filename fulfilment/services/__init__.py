"""Writes in the fulfilment stage.

stock.py: the stock ledger, reservations and backorders, and the timed pick release.
shipping.py: picking, packing, shipping, cancelling what cannot be had, returns.
wms.py: counts reported by an external warehouse system.
config.py: release delays per channel.
"""

from .config import *  # noqa: F403
from .documents import *  # noqa: F403
from .shipping import *  # noqa: F403
from .stock import *  # noqa: F403
from .wms import *  # noqa: F403
