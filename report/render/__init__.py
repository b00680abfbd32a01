"""Rendering: the summary dicts in words, tables and figures; nothing here computes a number.

`formats` (how numbers and tables are written), `headline` (the finding in plain words),
`markdown` with `markdown_figures` and `seed_tables` (report.md, section by section),
`across_splits` (the across-split headline and report.md), `plots` (the PNG figures) and
`tensorboard_text` (the headline and report.md in TensorBoard's Text tab).
"""
