"""Printable documents of the warehouse, rendered as PDF by WeasyPrint in a Celery worker.

Rendering takes about a quarter of a second of CPU a page, so it never happens inside a request:
the page asks a worker (after commit) and offers the file when it is there.
"""

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from ..models import PickList
from ..selectors.shipping import pick_list_get

__all__ = ["pick_list_pdf_render", "pick_list_pdf_request"]


def pick_list_pdf_render(*, pick_list_id: int, language: str = "sv") -> PickList:
    """Render a pick list's PDF and store it on the pick list. Safe to run twice (the last one wins)."""
    from weasyprint import HTML  # imported here: the web process never renders

    pick_list = pick_list_get(pk=pick_list_id)
    with translation.override(language):
        html = render_to_string(
            "fulfilment/pick_list_pdf.html",
            {
                "pick_list": pick_list,
                "order": pick_list.order,
                "lines": list(pick_list.lines.all()),
                "printed_at": timezone.now(),
            },
        )
    pdf = HTML(string=html).write_pdf()
    with transaction.atomic():
        locked = PickList.objects.select_for_update().get(pk=pick_list_id)
        if locked.pdf:
            locked.pdf.delete(save=False)
        locked.pdf.save(f"pick-list-{pick_list_id}.pdf", ContentFile(pdf), save=False)
        locked.pdf_rendered_at = timezone.now()
        locked.save(update_fields=["pdf", "pdf_rendered_at"])
    return locked


def pick_list_pdf_request(*, pick_list: PickList, language: str) -> None:
    """Ask a worker to render the pick list's PDF once the current transaction commits."""
    from ..tasks import render_pick_list_pdf

    transaction.on_commit(lambda: render_pick_list_pdf.delay(pick_list.pk, language))
