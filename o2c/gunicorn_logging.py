"""gunicorn's logger, with its default access-log line written at a fraction of the cost.

gunicorn builds every atom a log format could name for every request (each request header, each
response header, every WSGI environ key, several timings) and then formats the line from a dict
wrapper that escapes every value: 51-66 us of CPU per line, against 16.5 us here (a
micro-benchmark, docs/benchmarks.md, session 4), for a replay that costs gunicorn about 1 ms in
all. The default format needs 9 of
those atoms: this logger writes exactly the line gunicorn writes for it, from those 9, and hands
any other format (`--access-logformat`) or a request with Basic credentials (the `u` atom) back
to gunicorn. tests/common/test_gunicorn_logging.py compares the lines.

Use: `gunicorn --logger-class o2c.gunicorn_logging.AccessLogger` (the Dockerfile does).
"""

import traceback

from gunicorn.config import AccessLogFormat
from gunicorn.glogging import Logger

DEFAULT_FORMAT = AccessLogFormat.default


class AccessLogger(Logger):
    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        if self.cfg.access_log_format != DEFAULT_FORMAT or environ.get("HTTP_AUTHORIZATION", "")[:5].lower() == "basic":
            return super().access(resp, req, environ, request_time)
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        request_line = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
        line = '{} - - {} "{}" {} {} "{}" "{}"'.format(
            environ.get("REMOTE_ADDR", "-").replace('"', '\\"'),
            self.now(),
            request_line.replace('"', '\\"'),
            status,
            sent is not None and str(sent) or "-",
            environ.get("HTTP_REFERER", "-").replace('"', '\\"'),
            environ.get("HTTP_USER_AGENT", "-").replace('"', '\\"'),
        )
        try:
            # No arguments: logging leaves a "%" in the line as it is.
            self.access_log.info(line)
        except Exception:
            self.error(traceback.format_exc())
