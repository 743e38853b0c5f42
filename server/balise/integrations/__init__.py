"""Integrations: signed webhooks fed by a transactional outbox. No Flask here.

- signing.py: Standard Webhooks secrets and signatures.
- webhooks.py: the endpoints (owns `webhook_endpoints`).
- outbox.py: events written in the transaction of the change they report, their deliveries,
  clicks waiting for the next clicks event (owns `webhook_events`, `webhook_deliveries`,
  `webhook_click_queue`).
- claims.py: which instance sends what (leases; SKIP LOCKED on PostgreSQL), retries, the log.
- transport.py: one POST to a checked address, no redirects.
- delivery.py: the worker thread every instance runs.
"""
