"""Operator lowerings, one module per family; `families` imports them all, which
registers them in `registry`."""
