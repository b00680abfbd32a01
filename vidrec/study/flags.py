"""A spec table's flags for one `vidrec` command: each key checked against the command's own
parser (so a spec takes exactly the flags the command does), turned back into argv words."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Callable, Mapping

SPLIT = "{split}"
# Flags the study sets itself, per command.
MANAGED = {
    "synth": {"out"},
    "camera": {"out"},
    "convert": {"videos", "splits", "split", "output", "overwrite"},
    "train": {"data", "features", "out", "seed", "seeds", "overwrite"},
    "tune": {"data", "features", "out", "seeds", "overwrite", "fresh"},
    "compare": {"run_dirs", "out"},
}


class SpecError(ValueError):
    """A spec that cannot run: one line naming the file and the key."""


def _parsers() -> dict[str, Callable[[], argparse.ArgumentParser]]:
    """Each command's own parser (all build without TensorFlow, Keras or Beam)."""
    from pipeline import cli as pipeline_cli
    from pipeline import config as convert_config
    from report import cli as report_cli
    from trainer import cli as trainer_cli
    from tuning import cli as tuning_cli

    return {"synth": pipeline_cli.build_synth_parser,
            "camera": pipeline_cli.build_camera_parser, "convert": convert_config.build_parser,
            "train": trainer_cli.build_train_parser, "tune": tuning_cli.build_parser,
            "compare": report_cli.build_parser}


@dataclasses.dataclass(frozen=True)
class Flags:
    """One table's flags for one `vidrec` command, as written (keys with underscores)."""

    command: str
    values: tuple[tuple[str, Any], ...] = ()

    def argv(self, split: int | None = None) -> list[str]:
        """The flags as command-line words, `{split}` replaced by `split`."""
        actions = _actions(_parsers()[self.command]())
        words: list[str] = []
        for key, value in self.values:
            words += _words(actions[key], key, _at_split(value, split))
        return words

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.values).get(key, default)


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """key -> action for every long flag of `parser` (`--chunk-length` -> chunk_length)."""
    keys = {}
    for action in parser._actions:  # argparse keeps no public list of a parser's actions
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                keys[option[2:].replace("-", "_")] = action
        if not action.option_strings and action.dest != "help":
            keys[action.dest] = action  # positionals (managed by the study)
    return keys


def _words(action: argparse.Action, key: str, value: Any) -> list[str]:
    flag = "--" + key.replace("_", "-")
    if isinstance(value, bool):
        if action.nargs == 0 and not isinstance(action, argparse.BooleanOptionalAction):
            return [flag] if value else []
        return [flag] if value else [f"--no-{key.replace('_', '-')}"]
    if isinstance(value, list):
        if isinstance(action.nargs, int) and action.nargs > 1:
            return [flag, *(str(v) for v in value)]
        return [flag, ",".join(str(v) for v in value)]
    return [flag, str(value)]


def _at_split(value: Any, split: int | None) -> Any:
    if split is not None and isinstance(value, str):
        return value.replace(SPLIT, str(split))
    return value


def flags_of(where: str, command: str, table: Mapping[str, Any], study_keys: set[str]) -> Flags:
    """The flags of a table, each key checked against `command`'s parser."""
    actions = _actions(_parsers()[command]())
    values = []
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if key in study_keys:
            continue
        if key in MANAGED.get(command, ()):
            raise SpecError(f"{where}: {raw_key!r} is set by the study itself, not in the spec")
        if key not in actions or not actions[key].option_strings:
            also = f", nor one of {', '.join(sorted(study_keys))}" if study_keys else ""
            raise SpecError(f"{where}: unknown key {raw_key!r} (not a flag of vidrec "
                            f"{command}{also})")
        if isinstance(value, dict) or (isinstance(value, list) and any(
                isinstance(v, (dict, list)) for v in value)):
            raise SpecError(f"{where}: {raw_key!r} must be a number, string, boolean or list")
        values.append((key, value))
    return Flags(command, tuple(values))
