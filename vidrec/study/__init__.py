"""`vidrec study SPEC`: a whole study as one TOML file that one command runs and resumes.

    spec.py     the schema: the TOML file read, overridden (--set) and validated up front
    plan.py     the spec expanded into jobs: split x run x seed, plus data, encoder, tune, report
    state.py    what OUT/study/ records: each job's state, the events, the logs, the status table
    runner.py   runs the plan: resume, --parallel N (GPUs, cores), --shard I/N, failures, progress
    worker.py   one job's steps (vidrec commands) in one process, each recorded as it finishes
    cli.py      the command

The published recipes are spec files in `studies/` (`studies/demo.toml` is what
`vidrec demo` runs, `studies/hmdb51.toml` the original study on HMDB51).
"""
