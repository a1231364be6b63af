"""The model card (README.md) and config.json of a published model, from what the studio knows.

Everything comes from the model file's own metadata (task, config, training settings, step)
and, when the file came from a run in this store, the run's held-out metrics (a whole-split
`eval`, else the last evaluation during training, each with how it was measured) and its latest
sample grid. The card uses `huggingface_hub`'s `ModelCard`/`ModelCardData`, so its YAML front
matter is what the Hub reads (library_name, licence, tags, pipeline_tag).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.store.runs import Run, RunStore

LIBRARY = "image-studio"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
SAMPLE = "sample.png"
PIPELINE_TAGS = {"latent": "unconditional-image-generation"}  # every other kind maps images to images
RECIPE_KEYS = ("max_steps", "batch_size", "lr", "precision", "eval_every", "eval_size", "seed")


@dataclass
class CardFacts:
    """What a card says about a model; `metrics` is (protocol sentence, name -> value)."""

    task: str
    kind: str
    dataset: str
    config: dict
    settings: dict
    step: int | None
    source: str
    run: Run | None = None
    metrics: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    sample_caption: str = ""


def card_facts(meta: dict, kind: str, source: str, home: str | None) -> CardFacts:
    """The facts of a model file's metadata, with its run's metrics when the run is in `home`."""
    from engine.store.findings import held_out_metrics, split_metrics
    from engine.training.held_out import grid_caption

    settings = meta.get("settings") if isinstance(meta.get("settings"), dict) else {}
    data = str(settings.get("data") or "")
    facts = CardFacts(
        task=str(meta.get("task")),
        kind=kind,
        dataset=Path(data).name or "unknown",
        config=dict(meta.get("config") or {}),
        settings=settings,
        step=meta.get("step") if isinstance(meta.get("step"), int) else None,
        source=source,
    )
    run_id = meta.get("run")
    store = RunStore(home)
    if not isinstance(run_id, str) or not (store.runs_dir / run_id).is_dir():
        return facts
    facts.run = run = store.get(run_id)
    whole = split_metrics(store, run)
    if whole and whole[1]:
        split_name, values = whole
        facts.metrics.append((f"{split_name} of {facts.dataset} (`python -m engine eval`)", values))
    during = held_out_metrics(store, run)
    if during[1]:
        size = settings.get("eval_size", "?")
        facts.metrics.append((f"{during[0]}, {size} images, during training (`--eval-every`)", during[1]))
    facts.sample_caption = grid_caption(run.config.get("visual_names", []), kind == "unpaired")
    return facts


def config_json(facts: CardFacts) -> dict:
    """config.json: what the model is, for people and tools; loading reads the weights' own
    metadata (the same task and config), so an edited config.json cannot mislead the loader."""
    return {
        "library_name": LIBRARY,
        "task": facts.task,
        "kind": facts.kind,
        "dataset": facts.dataset,
        "weights": WEIGHTS,
        "config": facts.config,
        "training": {k: facts.settings[k] for k in RECIPE_KEYS if k in facts.settings},
        "step": facts.step,
    }


def model_card(facts: CardFacts, repo_id: str, licence: str, has_sample: bool):
    """A `huggingface_hub.ModelCard` whose front matter the Hub indexes and whose body says
    how the model was trained and measured and how to use it."""
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(
        library_name=LIBRARY,
        license=licence,
        license_name="unspecified" if licence == "other" else None,  # the Hub asks a name for `other`
        pipeline_tag=PIPELINE_TAGS.get(facts.kind, "image-to-image"),
        tags=[LIBRARY, facts.task, facts.kind, facts.dataset, "gan"],
        task=facts.task,
        kind=facts.kind,
        dataset=facts.dataset,
    )
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{card_body(facts, repo_id, licence, has_sample)}")


def card_body(facts: CardFacts, repo_id: str, licence: str, has_sample: bool) -> str:
    """The card's Markdown: what, how trained, how measured, an example, how to use, licence."""
    steps = f" for {facts.step:,} steps" if facts.step is not None else ""
    recipe = {k: facts.settings[k] for k in RECIPE_KEYS if k in facts.settings}
    lines = [
        f"# {repo_id.rsplit('/', 1)[-1]}",
        "",
        f"A **{facts.task}** model ({facts.kind}) trained on **{facts.dataset}**{steps} with "
        f"Image Synthesis Studio (`{LIBRARY}`), exported from `{facts.source}`.",
        "",
        "## Training recipe",
        "",
        *(f"- `{k}`: {v}" for k, v in recipe.items()),
        *(f"- `{k}`: {v}" for k, v in sorted(facts.config.items())),
        "",
        "## Held-out metrics",
        "",
    ]
    if not facts.metrics:
        lines.append("Not measured: run `python -m engine eval MODEL --data DATASET` before publishing.")
    for protocol, values in facts.metrics:
        lines += [f"Measured on the {protocol}:", "", "| metric | value |", "|---|---|"]
        lines += [f"| {name} | {value:.4f} |" for name, value in values.items()] + [""]
    if has_sample:
        lines += ["", "## Example", "", f"![samples]({SAMPLE})", "", f"Rows: {facts.sample_caption}."]
    lines += [
        "",
        "## Use",
        "",
        "```bash",
        f"python -m engine translate input.png out.png --model {repo_id}",
        "```",
        "",
        f"`{WEIGHTS}` holds the inference networks with their config in its metadata (no pickle); "
        f"`{CONFIG}` describes it.",
        "",
        "## Licence",
        "",
        f"`{licence}`. The training data's own terms apply as well ({facts.dataset}).",
        "",
    ]
    return "\n".join(lines)
