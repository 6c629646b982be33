import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.settings.local")

app = Celery("o2c")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
