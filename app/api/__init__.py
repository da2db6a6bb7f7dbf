"""The JSON v1.0 API's shared plumbing: sign-in, errors, the OpenAPI document, the API
websocket. Each feature's own door is its `api.py`."""
