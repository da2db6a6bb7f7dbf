"""Conversations (rooms) and their messages: the inbound entry point, sending,
notes and system lines, attachments, the room lifecycle, and the v1.0 API for them."""
