"""The lean access logger writes the line gunicorn writes, and leaves other formats to gunicorn."""

import base64
import datetime
import logging

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from o2c.gunicorn_logging import AccessLogger


class Response:
    def __init__(self, status="201 Created", sent=1234):
        self.status, self.sent = status, sent
        self.headers = [("Content-Type", "application/json"), ("X-Frame-Options", "DENY")]


class Request:
    headers = [("HOST", "127.0.0.1"), ("CONTENT-TYPE", "application/json"), ("IDEMPOTENCY-KEY", "k-1")]


def environ(**extra):
    return {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/api/v1/orders/?page=2",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "PATH_INFO": "/api/v1/orders/",
        "QUERY_STRING": "page=2",
        **extra,
    }


def lines(logger_class, access_log_format=None, **kwargs) -> list[str]:
    config = Config()
    config.set("accesslog", "-")
    if access_log_format:
        config.set("access_log_format", access_log_format)
    logger = logger_class(config)
    captured = []
    handler = logging.Handler()
    handler.emit = lambda record: captured.append(record.getMessage())
    logger.access_log.handlers = [handler]
    logger.now = lambda: "[24/Nov/2026:17:20:00 +0100]"
    logger.access(
        kwargs.get("resp", Response()),
        Request(),
        kwargs.get("environ", environ()),
        datetime.timedelta(microseconds=1500),
    )
    return captured


CASES = [
    {},
    {"resp": Response(status="404 Not Found", sent=None)},
    {"resp": Response(sent=0)},
    {"resp": Response(status=503)},
    {"environ": environ(HTTP_REFERER='https://shop.example/?q="x"', HTTP_USER_AGENT='Shop "Bot" 1.0 100%')},
    {"environ": environ(HTTP_AUTHORIZATION="Token abc")},
    {"environ": environ(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"anna:secret").decode())},
    {"environ": {k: v for k, v in environ().items() if k != "REMOTE_ADDR"}},
]


@pytest.mark.parametrize("case", CASES)
def test_the_default_line_is_gunicorns_line(case):
    ours = lines(AccessLogger, **case)
    assert ours == lines(Logger, **case)
    assert len(ours) == 1


def test_another_format_is_left_to_gunicorn():
    custom = "%(h)s %({idempotency-key}i)s %(L)s"
    assert lines(AccessLogger, custom) == lines(Logger, custom) == ["10.0.0.7 k-1 0.001500"]
