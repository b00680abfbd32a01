"""Compare evaluated runs: confidence intervals, paired tests, order ablation, report.md.

Public API: `report.compare.compare(run_dirs, out_dir, ...) -> summary dict` and the
statistics in `report.stats`. Reads only files that runs wrote, by the names of
`vidrec.run_folder` (the written contract); imports neither `trainer`, `tuning` nor
`pipeline`.

Data flows runs -> summary -> words: `runs` (load and check run folders) and
`curves` (training curves) -> `summary` (one split's numbers, with `stats`,
`paired`, `ablation`, `roles` of each `kinds` and the answer's three `parts`) and
`across` (several official splits) ->
`headline`, `markdown`, `plots` (what is written, formatted by `fmt`) -> `compare`
(prepare, then write) -> `cli` (`vidrec compare`).
"""
