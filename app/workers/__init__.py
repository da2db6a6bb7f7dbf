"""Background workers: the outbound sender and the room lifecycle timers. They run inside
`convodesk serve` (every process; they share work through the database) or alone under
`convodesk worker`."""
