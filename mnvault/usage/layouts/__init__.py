"""Column layouts of the statutory files mnvault fills with numbers, as data: one module per
file, each value with the source it was read in (docs/formats.md; domain R42, R43).

Indexes are 0-based column positions (the official specifications number items from 1).
"""
