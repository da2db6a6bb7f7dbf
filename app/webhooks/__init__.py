"""Webhooks: where they may go, the durable outbox, the dispatcher that signs and
sends, the delivery log, and the v1.0 API for it."""
