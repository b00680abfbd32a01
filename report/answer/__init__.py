"""The answer: which runs answer which question, and every number of one split's summary.

`roles` (the runs the answer names, chosen by validation or by the user, never by test),
`questions` (the three parts: several frames? order? recurrence beyond order? and, with
spatial runs, a fourth: spatial temporal modelling against late fusion; each with its
Holm-adjusted test and verdict), `order_ablation` (natural against shuffled and
reversed frames, the order-only classes), `recipes` (what differs between the runs: the
comparison or a confound), `split_summary` (one split's summary dict, what summary.json
holds) and `across_splits` (runs of several official splits, the mean ± std over them).
"""
