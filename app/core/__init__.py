"""Shared plumbing every feature uses: service transactions and the event stream,
the live bus and hub, live connections, keyset pages, ids, idempotency, health."""
