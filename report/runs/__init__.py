"""Loading runs: run folders and seed groups as the report sees them.

`load` (a run folder's eval files and train_summary.json as a `Run`), `traits` (what a
model is: several frames, their order, recurrence), `seed_groups` (one model trained
under several seeds, paired by seed), `checks` (do the runs compare: same data, same
frames) and `curves` (training curves from TensorBoard logs or the history).
"""
