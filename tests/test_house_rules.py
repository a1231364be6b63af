"""The engine's house rules that a reader should not have to check by eye: no function in engine/
longer than 80 lines (a longer one hides more than one step; split it into named pieces)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 80


def long_functions(source: str, limit: int) -> list[tuple[str, int, int]]:
    """(name, first line, length) of every function or method over `limit` lines, from `def`
    to its last line (decorators not counted, docstring and comments counted)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > limit:
                found.append((node.name, node.lineno, length))
    return found


def test_the_length_check_finds_a_long_function_and_passes_a_short_one():
    body = "".join(f"        x{i} = {i}\n" for i in range(80))
    source = f"def short():\n    pass\n\n\nclass C:\n    async def long(self):\n{body}"
    assert long_functions(source, MAX_FUNCTION_LINES) == [("long", 6, 81)]


def test_no_engine_function_is_over_80_lines():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} {name} ({length} lines)"
        for path in sorted((ROOT / "engine").rglob("*.py"))
        for name, line, length in long_functions(path.read_text(), MAX_FUNCTION_LINES)
    ]
    assert not offenders, "functions over 80 lines: " + "; ".join(offenders)
