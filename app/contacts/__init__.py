"""Contacts and tags: people reached at several addresses, found or made by inbound
messages (`matching`), their API (`api`), service (`service`, `tags`) and SQL (`store`)."""
