"""The ground floor: what every package may import and that imports nothing of the project.

- `errors`: `UsageError` and the command convention (bad input is one line, exit status 2).
- `run_folder`: the run-folder contract shared by trainer, tuning, study and report (file
  names, frame orders, seed groups).
- `eval_file`: the evaluation file's typed schema (the trainer writes it, the report reads
  it) and how its top-k accuracies are counted.
- `progress`: durations and progress lines for long work.
- `markdown`: tables as the report and `vidrec inspect` write them.
- `compat`: the private APIs of other libraries the project leans on, each with its reason.

`tests/test_vidrec_layers.py` keeps it that way.
"""
