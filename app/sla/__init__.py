"""Service levels: SLA policies, the rooms' SLA clocks, and their warnings and breaches."""
