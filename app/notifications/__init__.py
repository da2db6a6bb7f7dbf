"""An agent's notifications: mentions in notes, rooms assigned to it."""
