"""The ground floor: what every package may import and that imports nothing of the project.

- `errors`: `UsageError`, bad input printed as one line by the CLI.
- `run_folder`: the run-folder contract shared by trainer, tuning, study and report (file
  names, frame orders, the evaluation file's schema, seed groups).
- `progress`: durations and progress lines for long work.
- `compat`: the private APIs of other libraries the project leans on, each with its reason.

`tests/test_layers.py` keeps it that way.
"""
