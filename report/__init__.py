"""Compare evaluated runs: confidence intervals, paired tests, order ablation, report.md.

Public API: `report.compare.compare(run_dirs, out_dir, ...) -> summary dict` and the
statistics in `report.stats` and `report.seedstats`. Reads only files that runs wrote,
by the names of `vidrec.core.run_folder` (the written contract), and the test videos' frames
for its pictures through `pipeline.schema` (the record contract) alone; imports neither
`trainer`, `tuning`, any other `pipeline` module, nor Beam.

Data flows runs -> summary -> words: `runs` (load and check run folders), `seeds` (seed
groups: one model trained under several seeds, paired by seed) and `curves` (training
curves) -> `summary` (one split's numbers, with `stats`, `seedstats` (the two-level
bootstrap over seeds and films), `paired`, `ablation`, `roles` of each `kinds` and the
answer's three `parts`) and `across` (several official splits) -> `headline`,
`markdown` (with `seedtables`), `plots` (what is written, formatted by `fmt`) and
`videos` (the video pictures: `picks` chooses the videos, `frames` reads them,
`videoplots` draws them) and `board` (the headline and report as TensorBoard text) ->
`compare` (prepare, then write) -> `cli` (`vidrec compare`). `inspect_data` (`vidrec
inspect`) looks at a converted dataset before any training: manifest, failures and a
sample of its records.
"""
