"""Canned replies (personal and shared, with variables) and signatures."""
