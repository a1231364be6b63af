"""pix2pix's loss study (Isola et al. 2017, Table 1 on Cityscapes: labels -> photo, and Table
2's photo -> labels rows) as this studio reproduces it on CMP facades, built from the run store.

Each row's run is the newest finished one that trained the row's preset ("loss study: L1
(labels → photo)", ...) on facades, whatever its name; its figures are the FCN-score evals
`python -m engine eval RUN --fcn-score` stored for it on the test split (engine.fcn_score). The
labels -> photo rows and the ground truth are scored by one FCN (the newest finished run of the
FCN preset, unless one is named), so figures from different FCNs never share a table.

`reading` says in words what the figures show beside the paper's, and only that: two figures
closer than TOLERANCE are "about equal" (one run of one seed per row), a missing row is "—".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.fcn_score import DEFAULT_FCN, GROUND_TRUTH, split_label
from engine.metrics_segmentation import CLASS_ACC, CLASS_IOU, PIXEL_ACC
from engine.store.findings import budget_warning
from engine.store.runs import Run, RunStore
from engine.training.presets import LOSS_STUDY_MODES, answers_preset

TOLERANCE = 0.01  # figures closer than this are called about equal
DATASET, SPLIT = "facades", "test"
FCN_PRESET = "FCN-score net for facades (ngf 32, 128 px as the loss study)"
WAYS = {"labels → photo": "BtoA", "photo → labels": "AtoB"}  # way -> pix2pix direction on facades
FIGURES = (PIXEL_ACC, CLASS_ACC, CLASS_IOU)
HEADERS = ("per-pixel acc.", "per-class acc.", "class IoU")
MISSING = "—"
Figures = tuple[float, float, float]  # per-pixel accuracy, per-class accuracy, class IoU

# the paper's figures (Cityscapes, 256 px, FCN-8s); photo -> labels has no GAN rows there
PAPER: dict[str, dict[str, Figures]] = {
    "labels → photo": {
        "L1": (0.42, 0.15, 0.11),
        "GAN": (0.22, 0.05, 0.01),
        "cGAN": (0.57, 0.22, 0.16),
        "L1+GAN": (0.64, 0.20, 0.15),
        "L1+cGAN": (0.66, 0.23, 0.17),
        GROUND_TRUTH: (0.80, 0.26, 0.21),
    },
    "photo → labels": {"L1": (0.86, 0.42, 0.35), "cGAN": (0.74, 0.28, 0.22), "L1+cGAN": (0.83, 0.36, 0.29)},
}


@dataclass(frozen=True)
class Row:
    label: str  # "L1", ..., or GROUND_TRUTH
    run: Run | None  # the run scored (None for the ground truth, or when none is found)
    ours: Figures | None
    paper: Figures | None


@dataclass(frozen=True)
class Table:
    way: str  # "labels → photo" or "photo → labels"
    fcn: str | None  # the FCN that scored the generated photos; None: scored by label colours
    rows: tuple[Row, ...]

    @property
    def scored_by(self) -> str:
        return f"FCN {self.fcn}" if self.fcn else "label colours"

    def losses(self) -> list[Row]:
        """The generator rows (not the ground truth)."""
        return [row for row in self.rows if row.label != GROUND_TRUTH]


def preset_name(label: str, way: str) -> str:
    """The pix2pix preset of a row (engine.training.presets)."""
    return f"loss study: {label} ({way})"


def newest_answering(store: RunStore, task: str, preset: str, dataset: str = DATASET) -> Run | None:
    """The newest finished run that trained this preset on this dataset, whatever its name."""
    for run in store.list(task):  # newest first
        if run.status == "finished" and answers_preset(task, preset, dataset, run.task, run.config):
            return run
    return None


def stored_figures(store: RunStore, model: str, label: str, dataset: str = DATASET) -> Figures | None:
    """The newest stored FCN-score of `model` under this split label on a dataset of that name."""
    found: dict[str, float] = {}
    for _, data, split, name, value, _ in store.evals(model):  # oldest first: the newest wins
        if split == label and Path(data).name == dataset and name in FIGURES:
            found[name] = value
    return tuple(found[name] for name in FIGURES) if len(found) == len(FIGURES) else None


def the_fcn(store: RunStore, fcn: str | None = None) -> str:
    """The FCN that scores the labels -> photo rows: the one named, else the newest finished run
    of the FCN preset, else the bundled default."""
    if fcn:
        return fcn
    run = newest_answering(store, "segment", FCN_PRESET)
    return run.id if run else DEFAULT_FCN


def build_tables(store: RunStore, fcn: str | None = None) -> list[Table]:
    """Both directions' tables, every row present (missing runs or figures: None)."""
    fcn = the_fcn(store, fcn)
    tables = []
    for way in WAYS:
        scorer = fcn if way == "labels → photo" else None
        label = split_label(scorer, SPLIT)
        rows = []
        for name in LOSS_STUDY_MODES:
            run = newest_answering(store, "pix2pix", preset_name(name, way))
            ours = stored_figures(store, run.id, label) if run else None
            rows.append(Row(name, run, ours, PAPER[way].get(name)))
        if scorer:
            rows.append(
                Row(GROUND_TRUTH, None, stored_figures(store, GROUND_TRUTH, label), PAPER[way][GROUND_TRUTH])
            )
        tables.append(Table(way, scorer, tuple(rows)))
    return tables


def cell(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f}"


def table_rows(table: Table) -> list[dict[str, str]]:
    """One dict per row: loss, then ours and the paper's figure side by side for each figure."""
    rows = []
    for row in table.rows:
        ours, paper = row.ours or (None,) * 3, row.paper or (None,) * 3
        line = {"loss": row.label}
        for header, mine, theirs in zip(HEADERS, ours, paper):
            line[f"{header} (ours)"] = cell(mine)
            line[f"{header} (paper)"] = cell(theirs)
        rows.append(line)
    return rows


def markdown(tables: list[Table]) -> str:
    """The README's tables (ours beside the paper's) and each one's reading."""
    parts = []
    for table in tables:
        rows = table_rows(table)
        parts.append(
            f"**{table.way}** (facades {SPLIT} split, scored by {table.scored_by}; paper: Cityscapes)\n"
        )
        parts.append("| " + " | ".join(rows[0]) + " |")
        parts.append("|" + "---|" * len(rows[0]))
        parts += ["| " + " | ".join(row.values()) + " |" for row in rows]
        parts.append("")
        parts += [f"- {line}" for line in reading(table)]
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def compare(a: float, b: float, tolerance: float = TOLERANCE) -> int:
    """1 when a is clearly above b, -1 when clearly below, 0 when about equal."""
    return 0 if abs(a - b) < tolerance else (1 if a > b else -1)


def ordering(scored: list[tuple[str, float]], tolerance: float = TOLERANCE) -> str:
    """'A 0.61 > B 0.58 ≈ C 0.58', highest first: '≈' where neighbours are about equal."""
    ranked = sorted(scored, key=lambda item: -item[1])
    text = f"{ranked[0][0]} {ranked[0][1]:.2f}"
    for (_, above), (name, value) in zip(ranked, ranked[1:]):
        text += f" {'>' if compare(above, value, tolerance) else '≈'} {name} {value:.2f}"
    return text


def reading(table: Table, tolerance: float = TOLERANCE) -> list[str]:
    """What the figures show, beside the paper's, by per-pixel accuracy (the paper's first
    column); nothing they do not show: pairs closer than `tolerance` are about equal."""
    scored = [(row.label, row.ours[0]) for row in table.losses() if row.ours]
    if len(scored) < 2:
        return [
            f"Too few rows scored to compare ({len(scored)} of {len(table.losses())}): launch and score the runs."
        ]
    ours = dict(scored)
    paper = {row.label: row.paper[0] for row in table.losses() if row.paper}
    lines = [f"By per-pixel accuracy: {ordering(scored, tolerance)}."]
    lines += against_paper(ours, paper, tolerance)
    lines += gan_line(ours, paper, tolerance)
    lines += pair_line("L1", "L1+cGAN", ours, paper, tolerance)
    lines += truth_line(table, scored)
    runs = {row.label: row.run for row in table.losses() if row.run}
    warning = budget_warning(runs) if len(runs) > 1 else None
    if warning:
        lines.append(warning)
    lines.append(f"(Figures closer than {tolerance} are called about equal: one run of seed 0 per row.)")
    return lines


def against_paper(ours: dict[str, float], paper: dict[str, float], tolerance: float) -> list[str]:
    """Whether every pair of rows both tables have is ordered as the paper orders it."""
    names = [name for name in ours if name in paper]
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    if not pairs:
        return []
    reversed_, tied = [], []
    for a, b in pairs:
        mine, theirs = compare(ours[a], ours[b], tolerance), compare(paper[a], paper[b], 0.0)
        if mine == 0 and theirs != 0:
            tied.append(f"{a} and {b}")
        elif mine and mine == -theirs:
            high, low = (a, b) if mine > 0 else (b, a)
            reversed_.append(
                f"{high} above {low} ({ours[high]:.2f} vs {ours[low]:.2f}; paper {paper[high]:.2f} vs {paper[low]:.2f})"
            )
    rows = ", ".join(names)
    if not reversed_ and not tied:
        return [f"The same ordering as the paper's, pair for pair, over the rows both have ({rows})."]
    lines = []
    if reversed_:
        lines.append(f"Unlike the paper: {'; '.join(reversed_)}.")
    if tied:
        lines.append(f"About equal here, apart in the paper: {'; '.join(tied)}.")
    if not reversed_:
        lines.append("No pair is ordered against the paper's.")
    return lines


def gan_line(ours: dict[str, float], paper: dict[str, float], tolerance: float) -> list[str]:
    """Did the unconditional GAN score lowest (the paper's collapse)?"""
    others = {name: value for name, value in ours.items() if name != "GAN"}
    if "GAN" not in ours or not others:
        return []
    where = "as the paper's GAN collapsed" if "GAN" in paper else "the paper has no GAN row this way"
    lowest = min(others, key=others.get)
    verdict = compare(ours["GAN"], others[lowest], tolerance)
    if verdict < 0:
        return [
            f"GAN alone (unconditional) scored lowest: {ours['GAN']:.2f}, below {lowest} {others[lowest]:.2f} ({where})."
        ]
    if verdict == 0:
        return [
            f"GAN alone is about equal to the lowest other row, {lowest} ({ours['GAN']:.2f} vs {others[lowest]:.2f}): no clear collapse."
        ]
    return [f"GAN alone did not score lowest: {lowest} did ({others[lowest]:.2f} vs GAN {ours['GAN']:.2f})."]


def pair_line(a: str, b: str, ours: dict[str, float], paper: dict[str, float], tolerance: float) -> list[str]:
    """Where row a stands against row b, beside the paper's."""
    if a not in ours or b not in ours:
        return []
    verdict = compare(ours[a], ours[b], tolerance)
    said = {1: "above", -1: "below", 0: "about equal to"}
    text = f"{a} ({ours[a]:.2f}) is {said[verdict]} {b} ({ours[b]:.2f})"
    if a in paper and b in paper:
        theirs = compare(paper[a], paper[b], 0.0)
        agree = "as in the paper" if verdict == theirs else "unlike the paper"
        text += f", {agree} ({paper[a]:.2f} vs {paper[b]:.2f})"
    return [text + "."]


def truth_line(table: Table, scored: list[tuple[str, float]]) -> list[str]:
    """How close the best generator comes to the real photos' score (the FCN's own ceiling)."""
    truth = next((row for row in table.rows if row.label == GROUND_TRUTH), None)
    if truth is None or not truth.ours or truth.ours[0] <= 0:
        return []
    best, value = max(scored, key=lambda item: item[1])
    paper = [row.paper[0] for row in table.losses() if row.paper]
    ceiling = truth.paper[0] if truth.paper else None
    theirs = (
        f"; paper: {max(paper):.2f}, {max(paper) / ceiling:.0%} of {ceiling:.2f}" if paper and ceiling else ""
    )
    return [
        f"The real photos score {truth.ours[0]:.2f} through this FCN; the best generator here, {best}, "
        f"reaches {value:.2f}, {value / truth.ours[0]:.0%} of it{theirs}."
    ]


def eval_command(table: Table, row: Row, data: str, fcn: str | None = None) -> list[str]:
    """The `python -m engine eval` arguments that score a row (`fcn` None: the table's own)."""
    way = ["--fcn-score"] + (["--fcn", fcn or table.fcn] if table.fcn else [])
    where = ["--data", data, "--split", SPLIT]
    if row.label == GROUND_TRUTH:
        return ["eval", *where, *way, "--ground-truth"]
    return ["eval", row.run.id if row.run else "RUN", *where, "--direction", WAYS[table.way], *way]


def unscored(tables: list[Table], data: str) -> list[list[str]]:
    """The eval commands that would fill the rows whose run has finished but has no figures yet
    (and the real photos' row, once the labels -> photo table has any run to compare)."""
    commands = []
    for table in tables:
        for row in table.rows:
            ran = row.run is not None or (row.label == GROUND_TRUTH and any(r.run for r in table.rows))
            if ran and row.ours is None:
                commands.append(eval_command(table, row, data))
    return commands
