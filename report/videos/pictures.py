"""Mistakes you can see: the report's video pictures, written beside report.md and to
TensorBoard.

Three views of one split's test videos (`report.videos.selection` chooses them with the
report's seed, `report.videos.frames` reads their frames, `report.videos.figures` draws
them):

* each run's mistakes: ``mistakes/<run>.png`` and ``mistakes/<run>.json`` (the videos
  shown: id, true, predicted, top probabilities);
* where the temporal model changed the answer: ``videos/discordant.png``, the videos the
  baseline (the frame run, else the pooled control) gets wrong and the candidate right,
  and the reverse: McNemar's c and b videos of that pair;
* the order ablation, visible: ``videos/order_flips.png``, videos whose prediction by the
  order-aware candidate changes when its frames are shuffled, with its first clip in
  natural and in shuffled order.

The same PNGs go to TensorBoard (``tf.summary.image``) under each run's log dir, in
``report/``: its mistakes, and the two comparison pictures under the candidate's (the
flips under the run whose frames were shuffled). Frames that cannot be read, or a run
without a log dir, are warnings, never a failed report.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

import tensorflow as tf

from report.render.plots import png_bytes
from report.runs.curves import log_dirs
from report.runs.load import Predictions, Run
from report.videos import selection
from report.videos.figures import (
    Answer,
    Strip,
    VideoView,
    discordant_figure,
    flips_figure,
    mistakes_figure,
    short,
)
from report.videos.frames import Frames, read_frames
from vidrec.core.run_folder import join

MISTAKES_DIR = "mistakes"
FILES = {"discordant": "videos/discordant.png", "order_flips": "videos/order_flips.png"}
TENSORBOARD_SUBDIR = "report"


def file_stem(name: str, taken: set[str]) -> str:
    """A file name for a run name ("best (runs/best)" -> "best_runs_best"), unique in `taken`."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"
    unique, k = stem, 2
    while unique in taken:
        unique, k = f"{stem}_{k}", k + 1
    taken.add(unique)
    return unique


def _png(fig) -> bytes:
    return png_bytes(fig, crop=False)  # constrained layout keeps every label inside


def _write(out_dir: str, name: str, data: bytes | str) -> str:
    path = join(out_dir, name)
    tf.io.gfile.makedirs(path.rsplit("/", 1)[0])
    with tf.io.gfile.GFile(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return name


def _plan(runs: Sequence[Run], preds: dict[str, Predictions], summary: dict[str, Any]
          ) -> dict[str, Any]:
    """Which videos each view shows (indices into the sorted test videos), before any frame."""
    seed = summary["seed"]
    plan: dict[str, Any] = {"mistakes": {}, "discordant": None, "order_flips": None}
    for run in runs:
        p = preds[run.name]
        plan["mistakes"][run.name] = selection.spread(p.labels, selection.mistakes(p),
                                                  selection.MISTAKES_SHOWN, seed)
    pair = selection.comparison_runs(summary["roles"])
    if pair:
        base = preds[pair[0]]
        sets = selection.discordant(base, preds[pair[1]])
        plan["discordant"] = {"baseline": pair[0], "candidate": pair[1], **sets, "shown": {
            k: selection.spread(base.labels, v, selection.DISCORDANT_SHOWN, seed)
            for k, v in sets.items()}}
    run = selection.order_run(summary["roles"], runs)
    if run is not None:
        flipped = selection.flips(preds[run.name], run.predictions("shuffled"))
        plan["order_flips"] = {"run": run, "all": flipped, "shown": selection.spread(
            preds[run.name].labels, flipped, selection.FLIPS_SHOWN, seed)}
    return plan


def _shown_ids(plan: dict[str, Any], ids: list[str]) -> set[str]:
    shown = [i for chosen in plan["mistakes"].values() for i in chosen]
    if plan["discordant"]:
        shown += [i for chosen in plan["discordant"]["shown"].values() for i in chosen]
    if plan["order_flips"]:
        shown += plan["order_flips"]["shown"]
    return {ids[i] for i in shown}


def _answer(who: str, p: Predictions, i: int, **clip: Any) -> Answer:
    return Answer(who, int(p.predicted[i]), p.probabilities[i], **clip)


def _mistakes(run: Run, p: Predictions, chosen: list[int], frames: Frames,
              summary: dict[str, Any], out_dir: str, stem: str) -> tuple[dict[str, Any], bytes]:
    """Writes a run's mistakes picture and the JSON of the videos it shows; returns its
    summary entry and the PNG."""
    classes, seed = summary["classes"], summary["seed"]
    views = [VideoView(p.ids[i], int(p.labels[i]), [_answer(run.name, p, i)],
                       frames.strip(p.ids[i])) for i in chosen]
    wrong = int((~p.correct).sum())
    png = _png(mistakes_figure(views, classes, (
        f"{short(run.name, 40)}: {wrong} of {len(p.ids)} test videos misclassified, "
        f"{len(views)} shown (seed {seed}, spread over true classes)")))
    listed = [{**selection.describe(p, i, classes),
               "frames": list(v.strip[0]) if v.strip else None} for i, v in zip(chosen, views)]
    entry = {"run": run.name, "misclassified": wrong, "num_videos": len(p.ids),
             "shown": [p.ids[i] for i in chosen],
             "png": f"{MISTAKES_DIR}/{stem}.png", "json": f"{MISTAKES_DIR}/{stem}.json"}
    _write(out_dir, entry["png"], png)
    _write(out_dir, entry["json"], json.dumps(
        {"run": run.name, "seed": seed, "misclassified": wrong, "videos": listed}, indent=2) + "\n")
    return entry, png


def _discordant(plan: dict[str, Any], preds: dict[str, Predictions], frames: Frames,
                summary: dict[str, Any], out_dir: str) -> tuple[dict[str, Any], bytes]:
    """Writes where the candidate changed the baseline's answer (McNemar's c and b videos);
    returns its summary entry and the PNG."""
    base_name, cand_name = plan["baseline"], plan["candidate"]
    base, cand = preds[base_name], preds[cand_name]

    def views(key: str) -> list[VideoView]:
        return [VideoView(base.ids[i], int(base.labels[i]),
                          [_answer(base_name, base, i), _answer(cand_name, cand, i)],
                          frames.strip(base.ids[i])) for i in plan["shown"][key]]

    b, c = len(plan["b"]), len(plan["c"])
    panels = [(f"{short(base_name, 30)} wrong, {short(cand_name, 30)} right: {c} videos "
               f"(McNemar's c), {len(plan['shown']['c'])} shown", views("c")),
              (f"{short(base_name, 30)} right, {short(cand_name, 30)} wrong: {b} videos "
               f"(McNemar's b), {len(plan['shown']['b'])} shown", views("b"))]
    png = _png(discordant_figure(panels, summary["classes"], (
        f"Where {short(cand_name, 30)} changed the answer of {short(base_name, 30)} "
        "(each model's five likeliest classes; true class green)")))
    _write(out_dir, FILES["discordant"], png)
    ids = base.ids
    return {"baseline": base_name, "candidate": cand_name, "b": b, "c": c,
            "baseline_wrong_candidate_right": [ids[i] for i in plan["c"]],
            "baseline_right_candidate_wrong": [ids[i] for i in plan["b"]],
            "shown": {"baseline_wrong_candidate_right": [ids[i] for i in plan["shown"]["c"]],
                      "baseline_right_candidate_wrong": [ids[i] for i in plan["shown"]["b"]]},
            "png": FILES["discordant"]}, png


def _first_clips(run: Run, order: str) -> dict[str, list[int]]:
    return {str(v.id): [int(i) for i in v.first_clip or []] for v in run.evals[order].videos}


def _clip_strip(frames: Frames, video_id: str, clips: dict[str, list[int]]) -> Strip | None:
    """(indices, frames) of a video's first clip in the order the model saw it, or None."""
    clip = clips.get(video_id) or []
    pictures = frames.clip(video_id, clip)
    return None if pictures is None else (clip, pictures)


def _flips(plan: dict[str, Any], preds: dict[str, Predictions], frames: Frames,
           summary: dict[str, Any], out_dir: str) -> tuple[dict[str, Any], bytes]:
    """Writes the videos whose prediction flips with shuffled frames, with both first clips;
    returns its summary entry and the PNG."""
    run: Run = plan["run"]
    natural, shuffled = preds[run.name], run.predictions("shuffled")
    clips = {order: _first_clips(run, order) for order in ("natural", "shuffled")}
    views = []
    for i in plan["shown"]:
        vid = natural.ids[i]
        answers = [_answer(f"{order} order", p, i, strip=_clip_strip(frames, vid, clips[order]),
                           clip=clips[order].get(vid, []))
                   for order, p in (("natural", natural), ("shuffled", shuffled))]
        views.append(VideoView(vid, int(natural.labels[i]), answers))
    n = len(plan["all"])
    png = _png(flips_figure(views, summary["classes"], (
        f"{short(run.name, 40)}: the prediction changes on {n} of {len(natural.ids)} test "
        f"videos when its frames are shuffled, {len(views)} shown (first clip as the model "
        "saw it)")))
    missing = any(not clips[o].get(natural.ids[i]) for o in clips for i in plan["shown"])
    if missing:
        summary["warnings"].append(f"{run.name}'s eval files record no first clip (evaluated "
                                   "by an older vidrec): the order flips show no frames.")
    _write(out_dir, FILES["order_flips"], png)
    return {"run": run.name, "flips": n, "num_videos": len(natural.ids),
            "videos": [natural.ids[i] for i in plan["all"]],
            "shown": [natural.ids[i] for i in plan["shown"]], "png": FILES["order_flips"],
            "first_clip_recorded": not missing}, png


def log_images(log_dir: str, images: dict[str, bytes]) -> str:
    """Writes PNGs as TensorBoard images (step 0) under `log_dir`/report; returns that dir."""
    directory = join(log_dir, TENSORBOARD_SUBDIR)
    writer = tf.summary.create_file_writer(directory)
    with writer.as_default():
        for tag, png in images.items():
            tf.summary.image(tag, tf.io.decode_png(png, channels=3)[tf.newaxis], step=0)
    writer.close()
    return directory


def _log_all(runs: Sequence[Run], images: dict[str, dict[str, bytes]],
             warnings: list[str]) -> dict[str, str]:
    """Each run's pictures into its TensorBoard log dir; a run without one is a warning."""
    written = {}
    for run in runs:
        if not images.get(run.name):
            continue
        candidates = log_dirs(run)
        if not candidates:
            warnings.append(f"{run.name} records no TensorBoard log dir (train_summary.json's "
                            "log_dir): its report pictures are not logged to TensorBoard.")
            continue
        log_dir = next((d for d in candidates if tf.io.gfile.isdir(d)), candidates[0])
        try:
            written[run.name] = log_images(log_dir, images[run.name])
        except (OSError, tf.errors.OpError) as e:
            warnings.append(f"{run.name}: the report pictures could not be logged to "
                            f"TensorBoard under {log_dir} ({e}).")
    return written


def _read(runs: Sequence[Run], plan: dict[str, Any], summary: dict[str, Any]
          ) -> tuple[Frames, str | None]:
    """The frames of every video shown, from the data folder the eval files name, and why
    none could be read (also a warning in summary["warnings"]); None when they were."""
    window = runs[0].eval.protocol_window
    ids = runs[0].predictions().ids
    frames, problem = read_frames([r.eval.data_dir for r in runs],
                                  summary["split"], _shown_ids(plan, ids), window)
    if problem:
        summary["warnings"].append(f"The test videos' frames could not be read ({problem}): "
                                   "the video pictures are drawn without frame strips.")
    return frames, problem


def draw_videos(runs: Sequence[Run], summary: dict[str, Any], out_dir: str) -> dict[str, Any]:
    """Draws the video views of one split into `out_dir` and each run's TensorBoard log dir.

    Appends to summary["warnings"] (frames not read, no log dir, no first clip recorded).

    Returns:
      summary["videos"]: {"seed", "frames": {"read", "problem"}, "mistakes": [per run],
      "discordant": {...} or None, "order_flips": {...} or None, "tensorboard": {run: dir}}.
    """
    preds = {run.name: run.predictions() for run in runs}
    plan = _plan(runs, preds, summary)
    frames, problem = _read(runs, plan, summary)
    result: dict[str, Any] = {"seed": summary["seed"], "frames": {
        "read": problem is None, "problem": problem}, "mistakes": [], "discordant": None,
        "order_flips": None}
    images: dict[str, dict[str, bytes]] = {run.name: {} for run in runs}
    taken: set[str] = set()
    for run in runs:
        entry, images[run.name]["report/mistakes"] = _mistakes(
            run, preds[run.name], plan["mistakes"][run.name], frames, summary, out_dir,
            file_stem(run.name, taken))
        result["mistakes"].append(entry)
    if plan["discordant"]:
        result["discordant"], png = _discordant(plan["discordant"], preds, frames, summary,
                                                out_dir)
        images[plan["discordant"]["candidate"]]["report/discordant"] = png
    if plan["order_flips"]:
        result["order_flips"], png = _flips(plan["order_flips"], preds, frames, summary, out_dir)
        images[result["order_flips"]["run"]]["report/order_flips"] = png
    result["tensorboard"] = _log_all(runs, images, summary["warnings"])
    return result
