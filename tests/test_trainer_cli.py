"""`vidrec train/evaluate/predict/embed`: bad input is one line on stderr and exit code 2."""

import json

import pytest

from trainer import cli
from trainer.config import TrainConfig, save_config
from vidrec.core.errors import UsageError


def _train(capsys, *argv):
    code = cli.train_main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


def test_data_folder_without_manifest(capsys, tmp_path):
    code, err = _train(capsys, "--data", str(tmp_path), "--out", str(tmp_path / "r"))
    assert code == 2
    assert err.startswith("vidrec train: error: No manifest.json in") and str(tmp_path) in err
    assert len(err.splitlines()) == 1


def test_chunk_too_long(capsys, tiny_data, tmp_path):
    code, err = _train(capsys, "--data", tiny_data, "--out", str(tmp_path / "r"),
                       "--model", "recurrent", "--chunk-length", "10", "--frame-stride", "2")
    assert code == 2 and "= 19 frames exceeds the longest video" in err and "(12 frames)" in err


def test_unknown_encoder(capsys, tiny_data, tmp_path):
    code, err = _train(capsys, "--data", tiny_data, "--out", str(tmp_path), "--encoder", "resnet")
    assert code == 2 and "--encoder must be one of" in err and "'resnet'" in err


def test_bad_batch_size(capsys, tiny_data, tmp_path):
    code, err = _train(capsys, "--data", tiny_data, "--out", str(tmp_path), "--batch-size", "0")
    assert code == 2 and "--batch-size must be >= 1, got 0" in err


def test_init_from_a_run_of_another_type(capsys, tiny_data, tmp_path):
    other = str(tmp_path / "pooled_run")
    save_config(TrainConfig(data=tiny_data, out=other, model="pooled"), other)
    code, err = _train(capsys, "--data", tiny_data, "--out", str(tmp_path / "r"),
                       "--model", "recurrent", "--init-from", other)
    assert code == 2 and f"--init-from {other!r} is a 'pooled' run" in err


def test_flags_cover_every_config_field_with_defaults():
    parser = cli.build_train_parser()
    args = parser.parse_args(["--data", "d", "--out", "o", "--head-units", "8", "4",
                              "--devices", "/gpu:0,/gpu:1", "--bidirectional"])
    cfg = cli.config_from_args(args)
    assert cfg == TrainConfig(data="d", out="o", head_units=(8, 4),
                              devices=("/gpu:0", "/gpu:1"), bidirectional=True)
    help_text = parser.format_help()
    for flag in ("--cpu-replicas", "--mixed-precision", "--init-from", "--freeze-encoder",
                 "--features", "--augment", "--trainable-top-layers", "--overwrite"):
        assert flag in help_text
    assert "LOOPED" in help_text and "move up" in help_text


def test_evaluate_and_predict_errors(capsys, tmp_path):
    assert cli.evaluate_main([str(tmp_path)]) == 2
    assert "is not a vidrec run" in capsys.readouterr().err
    with pytest.raises(UsageError, match="required: --data, --out"):
        cli.build_train_parser().parse_args([])
    assert cli.evaluate_main([str(tmp_path), "--split", "nope"]) == 2
    (tmp_path / "config.json").write_text(json.dumps({"data": "d", "out": str(tmp_path)}))
    assert cli.predict_main([str(tmp_path), "missing.avi"]) == 2
    assert "no model.keras" in capsys.readouterr().err


def test_bad_flags_are_one_line_too(capsys, tiny_data, tmp_path):
    assert cli.train_main(["--data", tiny_data, "--out", str(tmp_path), "--epochs", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "vidrec train: error: argument --epochs: invalid int value: 'x'"
    assert cli.evaluate_main([str(tmp_path), "--frames", "0"]) == 2
    assert capsys.readouterr().err.strip().startswith("vidrec evaluate: error: --frames must")
    assert cli.embed_main(["--data", str(tmp_path)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert cli.train_main(["--help"]) == 0


def test_every_train_flag_has_its_help_from_its_config_field():
    import dataclasses

    from trainer.cli import build_train_parser

    actions = {a.dest: a for a in build_train_parser()._actions}
    for field in dataclasses.fields(TrainConfig):
        assert field.metadata.get("help"), field.name
        assert actions[field.name].help.startswith(field.metadata["help"]), field.name
