"""Customers (tenants), agents, passwords, sign-in and access keys, and the v1.0 API
for them."""
