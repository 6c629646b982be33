"""Signals by which a stage tells the stages to its right what happened, declared once here.

Apps depend one way along the flow (orders -> credit -> fulfilment -> ...): orders cannot call
credit, so it sends `order_submitted`, and credit's receiver (credit/receivers.py, connected in
its AppConfig.ready) decides hold or pass and calls orders' services back. Receivers run
synchronously, inside the sender's transaction, and hold no rules themselves: one call into a
service each. Events for other *systems* go through the outbox (o2c.outbox), not through these.
"""

from django.dispatch import Signal

# sender=Order class; kwargs: order, actor
order_submitted = Signal()
order_confirmed = Signal()
order_cancelled = Signal()

# sender=ReturnAuthorization class; kwargs: rma, actor. Invoicing drafts the credit note.
return_received = Signal()
