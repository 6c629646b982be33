import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.settings.production")

application = get_wsgi_application()


def import_what_a_first_request_would() -> None:
    """Import the URLconf (every view, form and serializer) and the broker's client now.

    The web server imports this module once and forks its workers from that process (uWSGI
    without lazy-apps, gunicorn with --preload). Django imports the URLconf on the first request
    and Celery its transport on the first message, so without this every worker, and every worker
    recycled after max-requests, spent its first request importing about 280 modules (15 % of the
    bench's profile after a recycle) and kept its own copy of them. Nothing here connects to the
    database or the broker: a connection opened before the fork would be shared by the workers.
    """
    from django.urls import get_resolver

    from o2c.celery import app

    get_resolver().url_patterns  # noqa: B018  (the property imports the URLconf)
    app.loader.import_default_modules()  # every app's tasks module, as a Celery worker imports them
    app.finalize(auto=True)  # the task classes (celery.app.task, canvas, result)
    app.amqp  # noqa: B018  (celery.app.amqp: the producer side of a task's apply_async)
    app.connection_for_write().get_transport_cls()  # imports the transport (redis-py); does not connect


import_what_a_first_request_would()
