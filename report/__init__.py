"""Compare evaluated runs: confidence intervals, paired tests, order ablation, report.md.

Public API: `report.compare.compare(run_dirs, out_dir, ...) -> summary dict` and the
statistics in `report.stats`. Reads only files that runs wrote, by the names of
`vidrec.core.run_folder` and the eval files' schema `vidrec.core.eval_file` (the written
contract), and the test videos' frames for its pictures through `pipeline.schema` (the
record contract) alone; imports neither `trainer`, `tuning`, any other `pipeline` module,
nor Beam.

Five rooms, data flowing runs -> numbers -> words and pictures:

    runs/     loading runs: `load` (a run folder as a `Run`), `traits` (what a model is),
              `seed_groups`, `checks` (same data, same frames), `curves`
    stats/    statistics, pure numpy/scipy: `resampling`, `intervals`, `significance`,
              `two_level` (seeds and films), `seed_variance`, `paired`
    answer/   the answer: `roles`, `questions` (the three parts), `order_ablation`,
              `recipes` (what differs), `split_summary`, `across_splits`
    render/   what is written: `formats`, `headline`, `markdown` (+ `markdown_figures`,
              `seed_tables`), `across_splits`, `plots`, `tensorboard_text`
    videos/   the video pictures: `selection`, `frames`, `figures`, `pictures`

and on top `compare` (prepare, then write) and `cli` (`vidrec compare`). A converted
dataset is inspected before training by `pipeline.inspection` (`vidrec inspect`).
"""
