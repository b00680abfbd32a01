"""Split-file parsing and the film-grouped train/val/test plan (pure Python, fast)."""

import pytest

from pipeline import splits

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


def test_carve_films_is_deterministic_and_never_empty_or_total():
    films = [f"film{i}" for i in range(10)]
    carved = splits.carve_films(films, 0.15, seed=0)
    assert len(carved) == 2  # ceil(0.15 * 10)
    assert carved == splits.carve_films(reversed(films), 0.15, seed=0)
    assert len(splits.carve_films(["a", "b"], 0.15, seed=0)) == 1
    assert splits.carve_films(["a"], 0.5, seed=0) == set()
    assert len(splits.carve_films(["a", "b", "c"], 0.99, seed=0)) == 2
    assert splits.carve_films(films, 0.0, seed=0) == set()


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
        assert len(by_split["val"]) == 1  # ceil(0.15 * n) >= 1 with >= 2 train films
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
        f"wave/{missing}": ("listed in wave_test_split file but no such video", "wave", "test"),
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
