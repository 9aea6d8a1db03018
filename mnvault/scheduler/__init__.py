"""Periodic jobs, run by one scheduler at a time across every server (a lease in the
database): automatic reminders first, retention later."""
