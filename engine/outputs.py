"""Outputs never destroy inputs: every command that writes files asks here first.

An output that is one of the command's inputs (the same file or folder, also through a link),
or an output folder that holds an input, is refused in one line before anything is read or
written. Commands that build a folder from a folder (`data make-drawings`) also refuse an
output inside the source, where the new files would join the source's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.errors import UserError


def same_path(a: Path, b: Path) -> bool:
    """The same file or folder: by identity when both exist (links, case-folding file systems),
    else by their resolved paths."""
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def within(inner: Path, outer: Path) -> bool:
    """`inner` is `outer` or somewhere below it."""
    inner, outer = inner.resolve(), outer.resolve()
    return inner == outer or outer in inner.parents


def refuse_overwriting_inputs(
    output: Path, inputs: Iterable[Path | str | None], folder: bool = False, nested: bool = False
) -> None:
    """Raise a UserError when writing `output` could destroy or add to an input.
    `folder`: the output is a folder written into (then it must not hold any input either);
    `nested`: the output must not be inside an input folder, nor an input inside it."""
    output = Path(output)
    writes_into = folder or output.is_dir()
    for given in inputs:
        if given is None or not str(given):
            continue
        source = Path(given)
        if same_path(output, source):
            raise UserError(f"refusing to write {output}: it is the input {source}; choose another output")
        if (writes_into or nested) and within(source, output):
            raise UserError(
                f"refusing to write into {output}: it holds the input {source}; choose another output folder"
            )
        if nested and source.is_dir() and within(output, source):
            raise UserError(
                f"refusing to write {output}: it is inside the input {source}; choose a folder outside it"
            )
