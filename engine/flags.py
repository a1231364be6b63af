"""Config dataclasses <-> command-line flags, so a new task needs no CLI code: the CLI parses
them, the background launcher (engine.training.launch) writes them."""

from __future__ import annotations

import argparse
import dataclasses
import typing

from engine.errors import UserError


def knob(default: object, text: str = "", choices: tuple | None = None) -> typing.Any:
    """The one way a config field gets help text or choices: the CLI flag, the launcher and the
    Train page read them from here, and `check_choices` holds every value to its choices.
    A field with neither is a plain `name: type = default`."""
    return dataclasses.field(default=default, metadata={"help": text, "choices": choices})


def check_choices(config: object) -> None:
    """Fail on a knob outside its choices before any work starts, naming the valid values:
    a typo in a config (or a stored one from an older version) must not train the wrong model."""
    for f in dataclasses.fields(config):
        choices = f.metadata.get("choices")
        if choices and getattr(config, f.name) not in choices:
            raise UserError(f"{f.name} must be one of {choices}, got {getattr(config, f.name)!r}")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_dataclass_args(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """One flag per field; defaults are None so only what the user typed overrides."""
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(cls.__name__)
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if f.name in skip or typing.get_origin(kind) is list:  # lists come from the data, not flags
            continue
        help_text = f.metadata.get("help", "")
        default = f.default if f.default is not dataclasses.MISSING else None
        help_text = f"{help_text} (default: {default})".strip()
        if kind is bool:
            group.add_argument(
                flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            group.add_argument(
                flag(f.name), type=kind, default=None, help=help_text, choices=f.metadata.get("choices")
            )


def dataclass_overrides(cls: type, args: argparse.Namespace) -> dict:
    """The fields of `cls` that were given on the command line."""
    return {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(cls)
        if getattr(args, f.name, None) is not None
    }
