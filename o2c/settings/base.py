"""Settings shared by every environment. Environment-specific files import this and adjust."""

import os

from django.utils.translation import gettext_lazy as _

from .services import BASE_DIR, VAR_DIR, database_from_url, filesystem_broker_options, sqlite_database

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-local-development-key-change-me")
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "o2c.common",
    "o2c.outbox",
    "orders",
    "credit",
    "fulfilment",
    "invoicing",
    "receivables",
    "reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "o2c.common.middleware.IdempotentReplayMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "o2c.common.middleware.ApiBodySizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# API POSTs whose retries IdempotentReplayMiddleware answers before the rest of the stack, with the
# capability each needs (tests/common/test_replay_middleware.py checks they match the views).
O2C_REPLAYABLE_POSTS = {
    "/api/v1/orders/": "order.create",
    "/api/v1/credit-notes/": "credit_note.create",
}

ROOT_URLCONF = "o2c.urls"
WSGI_APPLICATION = "o2c.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "o2c.common.context_processors.navigation",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {"default": database_from_url(DATABASE_URL) if DATABASE_URL else sqlite_database("o2c.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("sv", _("Swedish")), ("nb", _("Norwegian Bokmål"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("O2C_TIME_ZONE", "Europe/Stockholm")
USE_I18N = True
FORMAT_MODULE_PATH = ["o2c.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "o2c.common.api_auth.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["o2c.common.api.HasCapability"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "o2c.common.api.StandardPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "o2c.common.api_errors.exception_handler",
    # Money never travels as a float.
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "o2c API",
    "DESCRIPTION": "Order-to-cash for Nordic companies. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs UI is served from our own static files, so it works without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One schema name per shared choice set (a customer's country and delivery country, ...).
    "ENUM_NAME_OVERRIDES": {
        "CountryEnum": "o2c.common.countries.Country",
        "CurrencyEnum": "o2c.common.money.Currency",
        "LanguageEnum": "o2c.common.countries.Language",
        "InvoiceStatusEnum": "invoicing.models.InvoiceStatus",
        "InvoiceKindEnum": "invoicing.models.InvoiceKind",
    },
}

# How long a confirmed order waits before it goes to picking, unless its channel or customer says
# otherwise: most retail cancellations come in the first 30 minutes.
O2C_DEFAULT_RELEASE_DELAY_MINUTES = 30

# How long an API token's user and roles are trusted without asking the database (o2c/common/api_auth.py).
O2C_API_TOKEN_CACHE_SECONDS = 5

# The hot path of an e-order sends its statements as prepared statements of the database session
# (o2c/common/db.py, execute_prepared). Turn off behind a pooler in transaction mode (PgBouncer's
# pool_mode = transaction), which hands a session's statements to other clients.
O2C_PREPARED_STATEMENTS = os.environ.get("O2C_PREPARED_STATEMENTS", "true").lower() in ("1", "true", "yes", "on")

# A JSON order with 500 lines is well under 1 MB; anything larger is refused with 413.
O2C_API_MAX_BODY_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = O2C_API_MAX_BODY_BYTES

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    filesystem_broker_options()
    if CELERY_BROKER_URL.startswith("filesystem")
    # A Redis that does not answer fails fast (the outbox kick must never hold up a request).
    else {"socket_connect_timeout": 2}
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "o2c.common.tasks.heartbeat", "schedule": 60.0},
    "outbox-sweep": {"task": "o2c.outbox.tasks.outbox_dispatch", "schedule": 60.0},
    "release-due-orders": {"task": "fulfilment.tasks.release_due_orders", "schedule": 60.0},
    "idempotency-keys-expire": {"task": "o2c.common.tasks.idempotency_keys_expire", "schedule": 3600.0},
}

O2C_DEMO_ALLOWED = False

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("O2C_FROM_EMAIL", "o2c@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("O2C_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs every layout step at INFO: seven lines per PDF say nothing an operator needs.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
