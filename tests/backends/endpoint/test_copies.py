"""The endpoint handler's copies of Studio's code stay equal to their source.

backends/endpoint/inference.py must stand alone in a model.tar.gz, so it copies what it
shares with Studio instead of importing it. As in diffusers (utils/check_copies.py), each
copy is marked on the line above it:

    # Copied from backends.local.schedulers.build_scheduler
    # Copied from backends.local.pipelines.LoadedModel.pipeline_for with text2image->pipeline
    # Copied from backends.types.MAX_SEED..MAX_PROMPT_CHARS

The marker names the source by its dotted path: a function, a class, a method or a
module-level assignment. `FIRST..LAST` names a run of consecutive statements, from the one
that assigns FIRST to the one that assigns LAST. The copy is the definition (or run) that
starts on the line below the marker. `with old->new, ...` renames are applied, in order, to
the source's text before it is compared; everything else, comments and docstrings included,
must be identical. A list of renames that ends with a comma goes on in the next comment line,
so a marker fits the line length:

    # Copied from backends.families.FamilyProfile with InvalidRequest->BadRequest,
    #   GenerationRequest->Job

To change a copied piece, change its source and paste it again.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

import backends

HANDLER = Path(backends.__file__).parent / "endpoint" / "inference.py"

# Every piece the handler copies. A copy that loses its marker fails here (and in the test
# after it), so it cannot drift unnoticed.
EXPECTED_COPIES = {
    "backends.types.MAX_SEED..MAX_PROMPT_CHARS",
    "backends.types.random_seed",
    "backends.types.GenerationRequest.mode",
    "backends.types.GenerationRequest.replace",
    "backends.local.schedulers.SCHEDULER_CLASSES",
    "backends.local.schedulers.build_scheduler",
    "backends.local.device.DeviceChoice",
    "backends.local.device.choose_device",
    "backends.local.pipelines.LoadedModel.pipeline_for",
    "backends.local.pipelines.main_pipeline_does",
    "backends.local.pipelines._pipeline_class",
    "backends.local.pipelines._dtype_keyword",
    "backends.local.pipelines._place",
    "backends.local.pipelines._component_bytes",
    "backends.local.memory.GIB..WORKING_MARGIN_BYTES",
    "backends.local.memory.Placement",
    "backends.local.memory.plan_placement",
    "backends.local.memory._gib",
    "backends.local.calls.BLANK_NEGATIVE",
    "backends.local.calls._guidance",
    "backends.local.calls._accepted",
    "backends.local.detect.UNKNOWN..ConfigReader",
    "backends.local.detect.PIPELINE_FAMILIES",
    "backends.local.detect.FLUX2_KLEIN_9B_TEXT_WIDTH..SD2_TEXT_WIDTH",
    "backends.local.detect.family_from_configs",
    "backends.local.detect._speed_variants",
    "backends.families.GENERIC_STEPS..MODE_LABELS",
    "backends.families.FamilyProfile",
    "backends.families.with_generic_defaults",
    "backends.families.checked_with_defaults",
    "backends.families.family_profile",
    "backends.types.SPEEDS",
    "backends.local.speed.UNET_FAMILIES..COMPILE_ERRORS",
    "backends.local.speed.SpeedReport",
    "backends.local.speed.load_dtype",
    "backends.local.speed.dtype_label",
    "backends.local.speed.apply_speed",
    "backends.local.speed._attention",
    "backends.local.speed._fuse_qkv",
    "backends.local.speed._channels_last",
    "backends.local.speed._compile",
    "backends.local.speed.compile_failed",
    "backends.local.speed._step_cache",
    "backends.local.speed._fp8",
    "backends.local.speed._first_line",
}
# The modules the handler copies from: a definition of the handler's named like one of theirs
# must be a marked copy.
SOURCE_MODULES = ("backends.types", "backends.local.schedulers", "backends.local.device",
                  "backends.local.pipelines", "backends.local.memory", "backends.local.calls",
                  "backends.local.detect", "backends.families", "backends.local.speed")

_MARKER = re.compile(
    r"^[ \t]*# Copied from (?P<target>[\w.]+?(?:\.\.\w+)?)(?: with (?P<renames>.+?))?[ \t]*$")
_MORE_RENAMES = re.compile(r"^[ \t]*#[ \t]+(?P<renames>\S.*?)[ \t]*$")


@dataclass(frozen=True)
class Marker:
    line: int  # 1-based line of the marker's last comment line: the copy starts below it
    target: str  # "module.Name", "module.Class.method" or "module.FIRST..LAST"
    renames: tuple[tuple[str, str], ...]


def find_markers(text: str) -> list[Marker]:
    markers = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        match = _MARKER.match(line)
        if match is None:
            if "Copied from" in line and line.lstrip().startswith("#"):
                raise AssertionError(f"line {number}: unreadable copy marker {line.strip()!r}")
            continue
        listed, last = match["renames"] or "", number
        while listed.endswith(","):
            more = _MORE_RENAMES.match(lines[last]) if last < len(lines) else None
            assert more, f"line {number}: the renames end with ',' but go on in no comment line"
            listed, last = f"{listed} {more['renames']}", last + 1
        renames = []
        for pair in listed.split(","):
            if pair.strip():
                old, sep, new = (part.strip() for part in pair.partition("->"))
                assert sep and old, f"line {number}: a rename reads old->new, not {pair!r}"
                renames.append((old, new))
        markers.append(Marker(last, match["target"], tuple(renames)))
    return markers


def _start(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _names(node: ast.stmt) -> set[str]:
    """The names a statement defines."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _lines(text: str, first: ast.stmt, last: ast.stmt) -> str:
    lines = text.splitlines()[_start(first) - 1:last.end_lineno]
    return textwrap.dedent("\n".join(lines))


def _body_named(body: list[ast.stmt], name: str, where: str) -> tuple[int, ast.stmt]:
    for index, node in enumerate(body):
        if name in _names(node):
            return index, node
    raise AssertionError(f"{where} defines no {name!r}")


def source_text(target: str) -> str:
    """The text of the object (or run of statements) a marker names, from its own file."""
    dotted, _, last_name = target.partition("..")
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:split])
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            break
    else:
        raise AssertionError(f"{target}: no module of ours in that path")
    text = Path(spec.origin).read_text(encoding="utf-8")
    body, where = ast.parse(text).body, module
    qualname = parts[split:]
    for name in qualname[:-1]:
        _, node = _body_named(body, name, where)
        assert isinstance(node, ast.ClassDef), f"{where}.{name} is not a class"
        body, where = node.body, f"{where}.{name}"
    index, first = _body_named(body, qualname[-1], where)
    if not last_name:
        return _lines(text, first, first)
    end, last = _body_named(body, last_name, where)
    assert end >= index, f"{target}: {last_name} comes before {qualname[-1]} in {where}"
    return _lines(text, first, last)


def _statements(tree: ast.Module) -> list[tuple[list[ast.stmt], int]]:
    """Every statement of the module and of its classes, as (its body, its index there)."""
    found = []
    bodies = [tree.body]
    while bodies:
        body = bodies.pop()
        for index, node in enumerate(body):
            found.append((body, index))
            if isinstance(node, ast.ClassDef):
                bodies.append(node.body)
    return found


def copy_text(text: str, marker: Marker) -> str:
    """The text of the copy below a marker: one definition, or a run up to the LAST name."""
    statements = _statements(ast.parse(text))
    below = [(body, index) for body, index in statements
             if _start(body[index]) == marker.line + 1]
    assert below, (f"line {marker.line}: `# Copied from {marker.target}` is not directly "
                   "above a definition")
    body, index = below[0]
    _, _, last_name = marker.target.partition("..")
    if not last_name:
        return _lines(text, body[index], body[index])
    for node in body[index:]:
        if _renamed(last_name, marker.renames) in _names(node):
            return _lines(text, body[index], node)
    raise AssertionError(f"line {marker.line}: the copied run never reaches {last_name}")


def _renamed(code: str, renames: tuple[tuple[str, str], ...]) -> str:
    for old, new in renames:
        code = code.replace(old, new)
    return code


def copy_problem(text: str, marker: Marker) -> str | None:
    """None when the copy equals its source (after the renames), else a diff to show."""
    expected = _renamed(source_text(marker.target), marker.renames)
    actual = copy_text(text, marker)
    if actual == expected:
        return None
    diff = difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                f"{marker.target} (source, renamed)",
                                f"inference.py line {marker.line + 1} (copy)", lineterm="")
    return "\n".join(diff)


HANDLER_TEXT = HANDLER.read_text(encoding="utf-8")
MARKERS = find_markers(HANDLER_TEXT)


@pytest.mark.parametrize("marker", MARKERS, ids=[m.target for m in MARKERS])
def test_each_copy_is_identical_to_its_source(marker: Marker) -> None:
    problem = copy_problem(HANDLER_TEXT, marker)
    assert problem is None, (
        f"The handler's copy of {marker.target} differs from its source. Change the source "
        f"and paste it into backends/endpoint/inference.py again:\n{problem}")


def test_every_copied_block_is_marked() -> None:
    marked = [m.target for m in MARKERS]
    assert len(marked) == len(set(marked)), f"a piece is copied twice: {sorted(marked)}"
    assert set(marked) == EXPECTED_COPIES, (
        f"missing markers: {sorted(EXPECTED_COPIES - set(marked))}; "
        f"unexpected markers (add them to EXPECTED_COPIES): "
        f"{sorted(set(marked) - EXPECTED_COPIES)}")


def _definitions(tree: ast.Module) -> list[tuple[str, list[ast.stmt], int]]:
    """Module-level names, and methods, as (name, body, index): not fields, not dunders."""
    return [(name, body, index) for body, index in _statements(tree)
            for name in _names(body[index])
            if (body is tree.body or isinstance(body[index], ast.FunctionDef))
            and not (name.startswith("__") and name.endswith("__"))]


def test_handler_definitions_named_like_studio_code_are_marked_copies() -> None:
    studio_names: dict[str, str] = {}
    for module in SOURCE_MODULES:
        origin = importlib.util.find_spec(module).origin
        for name, _, _ in _definitions(ast.parse(Path(origin).read_text(encoding="utf-8"))):
            studio_names.setdefault(name, module)
    marked_lines = set()
    for marker in MARKERS:
        body, index = next((b, i) for b, i in _statements(ast.parse(HANDLER_TEXT))
                           if _start(b[i]) == marker.line + 1)
        last = marker.target.partition("..")[2]
        for node in body[index:]:
            # A copied class's methods are part of the copy.
            marked_lines.update(n.lineno for n in ast.walk(node) if isinstance(n, ast.stmt))
            if not last or _renamed(last, marker.renames) in _names(node):
                break
    unmarked = sorted(
        f"{name} (line {body[index].lineno}, like {studio_names[name]}.{name})"
        for name, body, index in _definitions(ast.parse(HANDLER_TEXT))
        if name in studio_names and body[index].lineno not in marked_lines)
    assert not unmarked, ("These handler definitions share a name with Studio's code but carry "
                          f"no `# Copied from` marker: {unmarked}")


def test_the_check_catches_a_drifted_copy() -> None:
    marker = next(m for m in MARKERS if m.target.endswith("SCHEDULER_CLASSES"))
    drifted = HANDLER_TEXT.replace('"lcm": ("LCMScheduler", {}),', '"lcm": ("LCM", {}),')
    assert drifted != HANDLER_TEXT
    problem = copy_problem(drifted, marker)
    assert problem is not None and '+    "lcm": ("LCM", {}),' in problem


def test_a_marker_must_sit_directly_above_its_copy() -> None:
    text = "# Copied from backends.types.random_seed\n\nX = 1\n"
    with pytest.raises(AssertionError, match="not directly above a definition"):
        copy_text(text, find_markers(text)[0])


def test_renames_may_go_on_in_the_next_comment_line() -> None:
    text = ("# Copied from backends.types.random_seed with random->chance,\n"
            "#   MAX_SEED->TOP\n"
            "def chance_seed() -> int:\n    return chance.SystemRandom().randint(0, TOP)\n")
    (marker,) = find_markers(text)
    assert marker.line == 2 and marker.renames == (("random", "chance"), ("MAX_SEED", "TOP"))
    assert copy_problem(text, marker) is None
