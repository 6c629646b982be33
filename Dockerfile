# syntax=docker/dockerfile:1
# o2c: one image for every process (web, Celery worker, Celery beat, one-off manage.py commands).
# The default command is the web server; docker-compose.yml and docs/operations.md show the others.
#
#   docker build -t o2c .
#
# No Docker engine runs on the developers' or CI machines: this file is checked by reading only.

ARG PYTHON_VERSION=3.11

# --- build: dependencies in a virtualenv, compiled translations -----------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# gettext (msgfmt) is needed only here, to compile locale/*.po into .mo.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
# The project installs its dependencies only (packages = []); the code runs from /app.
WORKDIR /deps
COPY pyproject.toml ./
RUN pip install --upgrade pip \
 && pip install .

WORKDIR /src
COPY . .
# What `manage.py compilemessages` does, without needing Django settings here.
RUN for po in $(find . -path '*/LC_MESSAGES/*.po'); do \
        msgfmt --check-format -o "${po%.po}.mo" "$po" || exit 1; \
    done

# --- runtime -------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm

# Every process in this image uses the production settings unless told otherwise.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=o2c.settings.production \
    O2C_VAR_DIR=/app/var \
    WEB_CONCURRENCY=3

# WeasyPrint (PDF rendering) loads Pango, HarfBuzz and fontconfig through cffi; it needs fonts too.
# Package list per WeasyPrint's "Debian >= 11" install notes, plus harfbuzz-subset (font subsetting).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        libfontconfig1 \
        fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid, so orchestrators can verify runAsNonRoot.
RUN groupadd --system --gid 10001 o2c \
 && useradd --system --uid 10001 --gid o2c --create-home --home-dir /home/o2c --shell /usr/sbin/nologin o2c

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build /src /app

# Static files are collected into the image (STATIC_ROOT=/app/staticfiles) and served by WhiteNoise.
# production.py refuses to load without a secret key and allowed hosts: throwaway values for this
# one step only (they are not kept in the image). The URLs are only parsed, never connected to;
# they keep the settings from creating an SQLite file or a filesystem broker in the image.
RUN DJANGO_SECRET_KEY=build-only-collectstatic-not-a-secret-0123456789abcdefghijklmnop \
    DJANGO_ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build@build.invalid:5432/build \
    CELERY_BROKER_URL=redis://build.invalid:6379/0 \
    python manage.py collectstatic --noinput \
 && python -m compileall -q /app \
 && mkdir -p /app/var/media \
 && chown -R o2c:o2c /app/var

# The code is owned by root and read-only to the app user; only /app/var (O2C_VAR_DIR) is writable.
USER 10001:10001

EXPOSE 8000

# /healthz is exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT). Django still checks the Host
# header against DJANGO_ALLOWED_HOSTS, so the probe sends the first allowed host name.
# urlopen raises on 503 (database or broker down), which makes the check fail.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; h = os.environ.get('DJANGO_ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.'); h = 'localhost' if h in ('', '*') else h; r = u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=8); sys.exit(0 if r.status == 200 else 1)"]

# The web server: uWSGI (pyuwsgi) with o2c/uwsgi.ini, which says why each option is there.
# WEB_CONCURRENCY is its number of worker processes (2 x cores + 1 on a machine of its own); any
# other option can be set as UWSGI_<OPTION> (UWSGI_HARAKIRI=120). SIGTERM is a graceful stop:
# the requests in flight finish (up to 60 s), then it exits.
CMD ["uwsgi", "--ini", "/app/o2c/uwsgi.ini"]
