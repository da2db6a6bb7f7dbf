"""The JSON v1.0 API: thin controllers over app/services."""
