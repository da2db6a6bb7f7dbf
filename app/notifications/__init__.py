"""An agent's notifications: mentions in notes, rooms assigned to it (issue 14, point 8)."""
