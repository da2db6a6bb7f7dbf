"""Pure domain: enums, resource shapes, errors and rules. No I/O, no framework imports."""
