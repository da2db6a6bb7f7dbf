"""Teams, agents' availability and routing: which agent gets a room, the holding queue
when everyone is full, and reassignment when nobody answers."""
