"""The web chat widget: its visitors, its HTTP doors and its live connection."""
