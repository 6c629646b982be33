"""Developer and demo settings: `make run`."""

from .base import *  # noqa: F403

DEBUG = True
ALLOWED_HOSTS = ["*"]
O2C_DEMO_ALLOWED = True
