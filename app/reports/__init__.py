"""Reports: the facts kept with every change, the figures read from them, and the same figures
recomputed from scratch to check them."""
