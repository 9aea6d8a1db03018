"""Retention: how long a number must be kept, and its disposal (domain R25–R30)."""
