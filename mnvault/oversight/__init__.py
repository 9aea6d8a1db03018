"""Oversight (監督): reading and checking what was done — the audit log viewer's queries and
the actions of verifying and exporting the log. Later: alert rules, access reviews, the
incident register (docs/architecture.md, "Layers")."""
