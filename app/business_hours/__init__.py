"""Business hours: calendars of open periods and holidays, what uses them, and the
out-of-hours automatic reply."""
