"""Split-file parsing and the film-grouped train/val/test plan (pure Python, fast)."""

import dataclasses

import pytest

from pipeline import carve, splits

MESSY = (
    "Pirates_of_the_Caribbean_(2003)_brush_hair_u_cm_np1_fr_med_0.avi 1 \n"
    "#1_Hits_brush_hair_f_nm_np1_le_goo_2.avi\t2\t\n"
    "\n"
    "Fight_Club!_brush_hair_h_cm_np1_ri_bad_1.avi   0\r\n"
    "Tom_&_Jerry_brush_hair_u_cm_np1_fr_med_0.avi 1\n"
    "Ocean's_Eleven_brush_hair_u_cm_np1_fr_med_3.avi 2   \n"
)


def test_parse_split_file_tolerates_messy_names_and_whitespace():
    entries = splits.parse_split_file(MESSY)
    assert entries == [
        ("Pirates_of_the_Caribbean_(2003)_brush_hair_u_cm_np1_fr_med_0.avi", 1),
        ("#1_Hits_brush_hair_f_nm_np1_le_goo_2.avi", 2),
        ("Fight_Club!_brush_hair_h_cm_np1_ri_bad_1.avi", 0),
        ("Tom_&_Jerry_brush_hair_u_cm_np1_fr_med_0.avi", 1),
        ("Ocean's_Eleven_brush_hair_u_cm_np1_fr_med_3.avi", 2),
    ]


@pytest.mark.parametrize("line", ["clip.avi", "clip.avi 3", "clip.avi one"])
def test_parse_split_file_rejects_bad_lines_with_line_number(line):
    with pytest.raises(ValueError, match=r"f:2: expected"):
        splits.parse_split_file(f"ok.avi 1\n{line}\n", "f")


def test_split_file_name_gives_class_and_split():
    assert splits.parse_split_file_name("x/fall_floor_test_split3.txt") == ("fall_floor", 3)
    assert splits.parse_split_file_name("x/fall_floor_test_split4.txt") is None
    assert splits.parse_split_file_name("README") is None


@pytest.mark.parametrize("name,cls,film", [
    ("Pirates_of_the_Caribbean_(2003)_brush_hair_u_cm_np1_fr_med_0.avi", "brush_hair",
     "Pirates_of_the_Caribbean_(2003)"),
    ("Fight_Club!_punch_f_cm_np1_ri_bad_1.avi", "punch", "Fight_Club!"),
    ("Glory_walk_walk_f_cm_np1_fr_med_0.avi", "walk", "Glory_walk"),  # last `_<class>_`
    ("v_ApplyEyeMakeup_g08_c01.avi", "ApplyEyeMakeup", "g08"),
    ("holiday_12.mp4", "jump", "holiday"),
])
def test_film_key(name, cls, film):
    assert splits.film_key(name, cls) == film


def _clips(films_by_class):
    return [(c, f) for c, films in films_by_class.items() for f in films]


def test_carve_counts_clips_over_all_classes_and_never_empties_a_class():
    one_class = {"A": [f"film{i}" for i in range(10)]}
    carved = carve.carve_across_classes(_clips(one_class), 0.15, seed=0)
    assert len(carved) == 2  # ceil(0.15 * 10) clips, one clip per film
    assert carved == carve.carve_across_classes(reversed(_clips(one_class)), 0.15, seed=0)
    assert len(carve.carve_across_classes(_clips({"A": ["a", "b"]}), 0.15, seed=0)) == 1
    assert carve.carve_across_classes(_clips({"A": ["a"]}), 0.5, seed=0) == set()
    assert len(carve.carve_across_classes(_clips({"A": ["a", "b", "c"]}), 0.99, seed=0)) == 2
    assert carve.carve_across_classes(_clips(one_class), 0.0, seed=0) == set()
    assert carve.carve_across_classes(_clips(one_class), -0.5, seed=0) == set()
    thirty = {"A": [f"film{i}" for i in range(30)]}
    assert len(carve.carve_across_classes(_clips(thirty), 0.1, seed=0)) == 3  # not 4


def test_carve_gives_a_small_class_its_first_allowed_film():
    films = {"Big": [f"big{i}" for i in range(100)], "Small": ["s0", "s1"]}
    for seed in range(10):
        carved = carve.carve_across_classes(_clips(films), 0.15, seed)
        ranking = sorted(films["Small"], key=lambda f: (carve.hash_unit(f, seed), f))
        assert carved & {"s0", "s1"} == {ranking[0]}
        assert len(carved) >= 16  # ceil(0.15 * 102) one-clip films


def test_carve_skips_a_film_that_would_empty_another_class():
    # "shared" is the only film of Solo, so it can never be carved, even for Other.
    films = {"Solo": ["shared"], "Other": ["shared", "o1", "o2"]}
    for seed in range(20):
        carved = carve.carve_across_classes(_clips(films), 0.9, seed)
        assert carved == {"o1", "o2"}  # "shared" keeps both classes non-empty
    # An odd cycle: each film is in two classes of two films; carving one film for a
    # class would empty another, so one class has no carved film (documented limit).
    cycle = {"A": ["f1", "f2"], "B": ["f0", "f2"], "C": ["f0", "f1"]}
    for seed in range(5):
        assert len(carve.carve_across_classes(_clips(cycle), 0.15, seed)) == 1


def _hmdb_inputs():
    names = {
        "wave": [f"Film{f}_wave_u_cm_np1_fr_med_{k}.avi" for f in range(4) for k in range(2)],
        "clap": [f"Film{f}_clap_u_cm_np1_fr_med_{k}.avi" for f in range(3) for k in range(2)],
    }
    video_files = {c: [f"/v/{c}/{n}" for n in ns] for c, ns in names.items()}
    texts = {}
    for c, ns in names.items():
        ids = [2 if n.startswith("Film0") else 1 for n in ns]
        ids[-1] = 0
        texts[c] = "".join(f"{n} {i}\n" for n, i in zip(ns, ids))
    return names, video_files, texts


def test_plan_hmdb_carves_val_from_train_films_only():
    names, video_files, texts = _hmdb_inputs()
    plan = splits.plan_hmdb(video_files, texts, val_fraction=0.15, seed=0)
    assert plan.classes == ("clap", "wave") and plan.source == "hmdb51-splits"
    assert plan.unused == 2 and plan.failures == ()
    for c in plan.classes:
        by_split = {s: {v.film for v in plan.videos if v.class_name == c and v.split == s}
                    for s in ("train", "val", "test")}
        assert by_split["test"] == {"Film0"}
        assert by_split["val"]  # every class with >= 2 train films has val
        assert not by_split["val"] & by_split["train"]
    assert plan.listed == len(plan.videos) == 12
    again = splits.plan_hmdb(dict(reversed(video_files.items())), texts, val_fraction=0.15, seed=0)
    assert again == plan


def test_plan_hmdb_records_missing_and_unlisted_videos():
    names, video_files, texts = _hmdb_inputs()
    missing = names["wave"][0]
    video_files["wave"].remove(f"/v/wave/{missing}")
    video_files["wave"].append("/v/wave/stray_clip.avi")
    plan = splits.plan_hmdb(video_files, texts, val_fraction=0.15, seed=0)
    reasons = {f.path: (f.reason, f.class_name, f.split) for f in plan.failures}
    assert reasons == {
        f"wave/{missing}": ("listed in wave_test_split1.txt but no such video", "wave", "test"),
        "/v/wave/stray_clip.avi": ("video in no split file", "wave", None),
    }
    assert plan.listed == len(plan.videos) + 2 == 13


def test_plan_hmdb_finds_a_video_filed_under_another_folder_by_name():
    names, video_files, texts = _hmdb_inputs()
    moved = names["clap"][1]
    video_files["clap"].remove(f"/v/clap/{moved}")
    video_files["wave"].append(f"/v/wave/{moved}")
    plan = splits.plan_hmdb(video_files, texts, val_fraction=0.15, seed=0)
    assert plan.failures == ()
    assert [v.class_name for v in plan.videos if v.path.endswith(moved)] == ["clap"]


def test_plan_folders_groups_by_film_and_is_deterministic():
    video_files = {c: [f"/v/{c}/v_{c}_g{g:02d}_c{k:02d}.avi" for g in range(1, 11)
                       for k in range(1, 4)] for c in ("Jump", "Run")}
    plan = splits.plan_folders(video_files, test_fraction=0.3, val_fraction=0.15, seed=0)
    assert plan.source == "folder-per-class" and plan.unused == 0 and not plan.failures
    for c in plan.classes:
        films = {s: {v.film for v in plan.videos if v.class_name == c and v.split == s}
                 for s in ("train", "val", "test")}
        assert (len(films["test"]), len(films["val"]), len(films["train"])) == (3, 2, 5)
        assert not (films["test"] & films["val"] or films["test"] & films["train"]
                    or films["val"] & films["train"])
    assert plan == splits.plan_folders(video_files, test_fraction=0.3, val_fraction=0.15, seed=0)
    other = splits.plan_folders(video_files, test_fraction=0.3, val_fraction=0.15, seed=7)
    assert {v.path: v.split for v in other.videos} != {v.path: v.split for v in plan.videos}


def _shared_hmdb_inputs():
    """Films F0..F9 with clips in classes A, B and C, plus single-class films.

    F0 and F1 are official test in every class; F2 is test in A but train in B and C.
    """
    clips = {c: [(f"F{i}", k) for i in range(10) for k in range(1 + (i + j) % 3)]
             for j, c in enumerate("ABC")}
    clips["A"] += [("OnlyA", 0), ("OnlyA", 1)]
    clips["C"] += [("OnlyC", 0)]
    video_files, texts, official = {}, {}, {}
    for c, pairs in clips.items():
        names = [f"{film}_{c}_u_cm_np1_fr_med_{k}.avi" for film, k in pairs]
        video_files[c] = [f"/v/{c}/{n}" for n in names]
        for name, (film, _) in zip(names, pairs):
            test = film in ("F0", "F1") or (film, c) == ("F2", "A")
            official[f"/v/{c}/{name}"] = 2 if test else 1
        texts[c] = "".join(f"{n} {official[f'/v/{c}/{n}']}\n" for n in names)
    return video_files, texts, official


def _splits_by_film(videos):
    by_film = {}
    for v in videos:
        by_film.setdefault(v.film, set()).add(v.split)
    return by_film


def _assert_fair_carve(videos, source, target):
    """Each film's `source` clips went to `target` in all classes or in none, every class
    kept a `source` film, and every class with >= 2 candidate films got a carved one."""
    candidates = [v for v in videos if v.split in (source, target)]
    assert all(len(s) == 1 for s in _splits_by_film(candidates).values())
    for c in {v.class_name for v in candidates}:
        films = {s: {v.film for v in candidates if v.class_name == c and v.split == s}
                 for s in (source, target)}
        assert films[source]
        assert films[target] or len(films[source]) < 2


def test_plan_hmdb_carves_shared_films_for_all_their_classes_or_none():
    video_files, texts, official = _shared_hmdb_inputs()
    vals = []
    for seed in range(20):
        plan = splits.plan_hmdb(video_files, texts, val_fraction=0.15, seed=seed)
        assert {v.path for v in plan.videos if v.split == "test"} == {
            p for p, i in official.items() if i == 2}
        _assert_fair_carve(plan.videos, "train", "val")
        n_train_listed = sum(i == 1 for i in official.values())
        assert sum(v.split == "val" for v in plan.videos) >= 0.15 * n_train_listed
        shuffled = {c: list(reversed(ps)) for c, ps in reversed(video_files.items())}
        assert splits.plan_hmdb(shuffled, dict(reversed(texts.items())), val_fraction=0.15,
                                seed=seed) == plan
        vals.append(frozenset(v.path for v in plan.videos if v.split == "val"))
    assert len(set(vals)) > 1  # the seed changes the carve


def test_plan_hmdb_moves_only_the_train_clips_of_a_film_also_in_test():
    video_files, texts, official = _shared_hmdb_inputs()
    for seed in range(20):
        plan = splits.plan_hmdb(video_files, texts, val_fraction=0.5, seed=seed)
        f2 = {v.class_name: v.split for v in plan.videos if v.film == "F2"}
        assert f2["A"] == "test" and f2["B"] == f2["C"] in ("train", "val")
        if f2["B"] == "val":
            return
    raise AssertionError("F2 was never carved to val; the test exercises nothing")


def test_plan_hmdb_no_val_is_empty_at_zero_fraction():
    video_files, texts, _ = _shared_hmdb_inputs()
    plan = splits.plan_hmdb(video_files, texts, val_fraction=0.0, seed=0)
    assert not any(v.split == "val" for v in plan.videos)


def test_val_never_splits_a_film_between_train_and_val_across_classes():
    # Fails on the old per-class carve: A ranks its 10 films and carves 2, B ranks its 5
    # films and carves 1, so a film carved in A stayed in B's train (seeds 3, 7 and 9).
    names = {"A": [f"F{i}_A_u_cm_np1_fr_med_0.avi" for i in range(10)],
             "B": [f"F{i}_B_u_cm_np1_fr_med_0.avi" for i in range(5)]}
    video_files = {c: [f"/v/{c}/{n}" for n in ns] for c, ns in names.items()}
    texts = {c: "".join(f"{n} 1\n" for n in ns) for c, ns in names.items()}
    for seed in range(10):
        plan = splits.plan_hmdb(video_files, texts, val_fraction=0.15, seed=seed)
        mixed = [f for f, s in _splits_by_film(plan.videos).items() if s == {"train", "val"}]
        assert not mixed, f"seed {seed}: films {mixed} in train for one class, val for another"


def _ucf_files():
    """UCF-style names: group gNN is one recording, shared across classes."""
    return {c: [f"/v/{c}/v_{c}_g{g:02d}_c{k:02d}.avi" for g in range(1, 26)
                if (g + j) % 4 for k in range(1, 2 + (g * (j + 1)) % 4)]
            for j, c in enumerate(("Jump", "Run", "Swim"))} | {
        "Rare": ["/v/Rare/v_Rare_g30_c01.avi", "/v/Rare/v_Rare_g31_c01.avi",
                 "/v/Rare/v_Rare_g31_c02.avi"]}


def test_plan_folders_carves_test_then_val_across_classes():
    video_files = _ucf_files()
    n = sum(len(ps) for ps in video_files.values())
    plans = []
    for seed in range(20):
        plan = splits.plan_folders(video_files, test_fraction=0.3, val_fraction=0.15, seed=seed)
        assert len(plan.videos) == n and not plan.failures
        assert all(len(s) == 1 for s in _splits_by_film(plan.videos).values())
        relabelled = [dataclasses.replace(v, split="train") if v.split == "val" else v
                      for v in plan.videos]
        _assert_fair_carve(relabelled, "train", "test")
        _assert_fair_carve(plan.videos, "train", "val")
        assert sum(v.split == "test" for v in plan.videos) >= 0.3 * n
        shuffled = {c: list(reversed(ps)) for c, ps in reversed(video_files.items())}
        assert splits.plan_folders(shuffled, test_fraction=0.3, val_fraction=0.15,
                                   seed=seed) == plan
        plans.append(plan)
    assert len({p.videos for p in plans}) > 1  # the seed changes the carve
