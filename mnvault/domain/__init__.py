"""The leaf of mnvault: pure rules every layer may use and that import nothing of mnvault's
above them — the individual number's normalisation and check digit (domain R39, R41) and the
role → capability table (domain R1, R2). See docs/architecture.md, "Layers"."""
