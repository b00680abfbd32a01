"""Compare evaluated runs: confidence intervals, paired tests, order ablation, report.md.

Public API: `report.compare.compare(run_dirs, out_dir, ...) -> summary dict` and the
statistics in `report.stats`. Reads only files that runs wrote; imports neither
`trainer`, `tuning` nor `pipeline`.
"""
