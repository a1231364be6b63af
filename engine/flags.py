"""Config dataclasses <-> command-line flags, so a new task needs no CLI code: the CLI parses
them, the background launcher (engine.training.launch) writes them."""

from __future__ import annotations

import argparse
import dataclasses
import typing

from engine.errors import UserError

Range = tuple[float | None, float | None]  # (lowest, highest) allowed; None: no bound that side
MAX_COUNT = 10**9  # steps, sizes and counts beyond this are typos (and overflow SQLite's integers)
# ranges config fields share (a task may declare its own span instead)
WIDTH: Range = (1, 1024)  # ngf, ndf: channels of a network's first (or last) layer
SIDE: Range = (16, 4096)  # load_size, crop_size: pixels
LAYERS: Range = (1, 8)  # PatchGAN depth (the crop must still be larger than its patches)
BLOCKS: Range = (1, 64)  # residual blocks
LEARNING_RATE: Range = (1e-10, 10.0)
BETA: Range = (0.0, 0.9999)  # Adam's betas must be below 1
WEIGHT: Range = (0.0, 1e6)  # loss weights
SHARE: Range = (0.0, 1.0)  # rates: the share of samples something happens to
SEED: Range = (0, 2**63 - 1)


def knob(
    default: object, text: str = "", choices: tuple | None = None, span: Range | None = None
) -> typing.Any:
    """The one way a config field gets help text, choices or its range of values (`span`,
    inclusive): the CLI flag, the launcher and the Train page read them from here, and
    `check_choices` holds every value to them. A field with none is `name: type = default`."""
    return dataclasses.field(default=default, metadata={"help": text, "choices": choices, "span": span})


def fixed_fields(cls: type) -> tuple[str, ...]:
    """Fields a config inherits but does not use, held at their defaults (a `fixed` ClassVar):
    no flag, no Train-page widget, and `check_fixed` refuses another value for a new run, so
    nobody sets a knob the task ignores (a distilled student has no discriminator to weigh)."""
    return tuple(getattr(cls, "fixed", ()))


def settable_fields(cls: type) -> list[dataclasses.Field]:
    """The fields a person sets: all but the fixed ones and the lists a task reads from its
    data (a label map's class names and colours)."""
    hints, fixed = typing.get_type_hints(cls), fixed_fields(cls)
    return [
        f
        for f in dataclasses.fields(cls)
        if f.name not in fixed and typing.get_origin(hints[f.name]) is not list
    ]


def check_fixed(cls: type, values: dict) -> None:
    """Refuse a value given for a fixed field (by the launcher or a Python call starting a run).
    A stored config is not held to it: the task never reads those fields, so an older run or file
    that has another value there still resumes and loads."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    given = [name for name in fixed_fields(cls) if name in values and values[name] != fields[name].default]
    if given:
        raise UserError(f"{cls.__name__} does not use {', '.join(map(flag, given))}: leave it out")


def number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e16 else f"{value:g}"


def span_text(span: Range) -> str:
    low, high = (None if v is None else number_text(v) for v in span)
    if high is None:
        return f"at least {low}"
    return f"at most {high}" if low is None else f"{low} to {high}"


def value_problem(value: object, kind: object, choices: tuple | None, span: Range | None) -> str | None:
    """Why a value does not fit a field (its type, choices, range), or None."""
    if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"must be a number, got {value!r}"
    if kind is int and isinstance(value, float) and not value.is_integer():
        return f"must be a whole number, got {value!r}"
    if kind in (bool, str) and not isinstance(value, kind):
        return f"must be {'true or false' if kind is bool else 'text'}, got {value!r}"
    if choices and value not in choices:
        return f"must be one of {choices}, got {value!r}"
    if span and isinstance(value, (int, float)) and not span_contains(span, value):
        return f"must be {span_text(span)}, got {value!r}"
    return None


def span_contains(span: Range, value: float) -> bool:
    low, high = span
    return value == value and (low is None or value >= low) and (high is None or value <= high)


def check_choices(config: object) -> None:
    """Fail on a knob of the wrong type, outside its choices or its range, before any work starts
    (before a run is created), naming what fits: a typo in a config (or a stored or crafted one)
    must not train or load the wrong model. A config's own `check()` adds rules between fields."""
    hints = typing.get_type_hints(type(config))
    problems = []
    for f in dataclasses.fields(config):
        kind = hints.get(f.name)
        problem = value_problem(
            getattr(config, f.name), kind, f.metadata.get("choices"), f.metadata.get("span")
        )
        if problem:
            name = f.name if problem.startswith("must be one of") else flag(f.name)  # as the flag typed
            problems.append(f"{name} {problem}")
    if problems:
        raise UserError("; ".join(problems))
    if hasattr(config, "check"):
        config.check()


def number_in(span: Range, kind: type = int) -> typing.Callable[[str], float]:
    """An argparse `type` for a number within `span` (inclusive): the one way a CLI-only number
    is held to its range, so `--batch-size 0` is argparse's one-line error, not a traceback."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be {'a whole number' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if not span_contains(span, value):
            raise argparse.ArgumentTypeError(f"must be {span_text(span)}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_dataclass_args(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """One flag per field; defaults are None so only what the user typed overrides."""
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(cls.__name__)
    for f in settable_fields(cls):
        kind = hints[f.name]
        if f.name in skip:
            continue
        help_text = f.metadata.get("help", "")
        default = f.default if f.default is not dataclasses.MISSING else None
        help_text = f"{help_text} (default: {default})".strip()
        if kind is bool:
            group.add_argument(
                flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            span = f.metadata.get("span")
            parse = number_in(span, kind) if span and kind in (int, float) else kind
            group.add_argument(
                flag(f.name), type=parse, default=None, help=help_text, choices=f.metadata.get("choices")
            )


def dataclass_overrides(cls: type, args: argparse.Namespace) -> dict:
    """The fields of `cls` that were given on the command line."""
    return {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(cls)
        if getattr(args, f.name, None) is not None
    }
