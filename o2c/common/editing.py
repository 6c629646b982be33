from django.core.exceptions import ValidationError
from django.db import models
from django.shortcuts import redirect, render
from django.views import View

from .exceptions import ApplicationError
from .forms import add_service_errors
from .views import CapabilityRequiredMixin


class ServiceFormView(CapabilityRequiredMixin, View):
    """GET shows the form; POST validates it and hands the cleaned data to one service.

    Subclasses give `form_class`, `title`, `perform(form) -> record`, and optionally `get_object()`
    for edits. A service's ValidationError or ApplicationError lands on the form; nothing is saved.
    """

    form_class = None
    template_name = "common/form.html"
    title = ""

    def get_object(self) -> models.Model | None:
        return None

    def get_form_kwargs(self) -> dict:
        return {"instance": self.object} if self.object is not None else {}

    def perform(self, form) -> models.Model:
        raise NotImplementedError

    def success_url(self, record: models.Model) -> str:
        return record.get_absolute_url()

    def render_form(self, form, status: int = 200):
        context = {"form": form, "title": self.title, "object": self.object}
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self.render_form(self.form_class(**self.get_form_kwargs()))

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        form = self.form_class(request.POST, request.FILES, **self.get_form_kwargs())
        if form.is_valid():
            try:
                record = self.perform(form)
            except (ValidationError, ApplicationError) as exc:
                add_service_errors(form, exc)
            else:
                return redirect(self.success_url(record))
        return self.render_form(form, status=400)
