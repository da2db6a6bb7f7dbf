"""Live delivery: the event bus, topics, and (later) the desk and API websocket handlers."""
