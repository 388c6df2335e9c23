"""The model card: a ``README.md`` in every saved or exported model folder, written from what the run knows.

At the top the hub's metadata block (YAML front matter: library, tags, base model, licence, pipeline tag), so the
folder can be published as it is; then the architecture and towers, the base weights with their sha256 and
licence, the training data (files, rows, sha256: ``train_data.json``), the recipe (``train_config.yaml``), dev
metrics per epoch (``train_log.jsonl``), the decision with its held-out estimates and calibrator
(``decision.json``), and how to load the folder with textsiam, sentence-transformers, transformers and
onnxruntime. Each part is read from the run's own files in the folder (or in ``source``, the model folder an export
came from); a part the run does not have says so. Written atomically, after the model's own files.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from textsiam.atomic import atomic_write_text
from textsiam.encoders.pretrained import PACKAGED
from textsiam.imaging import file_sha256

CARD = "README.md"
MARK = "Written by textsiam from the run that produced this folder."
"""The card's own line: a README.md holding it is textsiam's (``--overwrite`` may replace it), any other is the
user's (train/run_folder.py)."""
_LIBRARIES = {"textsiam": "textsiam", "hf": "transformers"}  # anything else: a sentence-transformers folder


def write_card(folder: str | Path, model: Any, source: str | Path | None = None, layout: str = "textsiam") -> Path:
    """Write ``folder/README.md`` for ``model`` (a PairModel); run files are read from ``source`` or ``folder``."""
    folder = Path(folder)
    run = _run_files(Path(source) if source is not None else folder)
    decision = model.decision.to_dict() if model.decision is not None else run.get("decision")
    config = model.get_config()
    bases = [_base(key, spec) for key, spec in _towers(config).items()]
    text = "\n".join(
        [
            _front_matter(config, bases, layout),
            f"# {config['pair_model']} model ({model.score_name}, {model.embedding_dim} dimensions)\n",
            MARK + "\n",
            _architecture(config, model),
            _bases(bases),
            _data(run.get("data")),
            _recipe(run.get("settings")),
            _epochs(run.get("log", [])),
            _decision(decision),
            _usage(layout),
            "## Licence\n",
            "The weights derive from the base weights above and carry their licence: "
            + (
                ", ".join(sorted({b["license"] or "unknown" for b in bases}))
                or "no base weights (trained from scratch)"
            )
            + ".\n",
        ]
    )
    return atomic_write_text(folder / CARD, text)


def _run_files(folder: Path) -> dict[str, Any]:
    run: dict[str, Any] = {}
    readers = {
        "settings": ("train_config.yaml", lambda t: yaml.safe_load(t)),
        "data": ("train_data.json", json.loads),
        "summary": ("train_summary.json", json.loads),
        "decision": ("decision.json", json.loads),
        "log": ("train_log.jsonl", lambda t: [json.loads(line) for line in t.splitlines() if line.strip()]),
    }
    for key, (name, parse) in readers.items():
        try:
            run[key] = parse((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):  # absent or unreadable: the card says the run has none
            continue
    return run


def _towers(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in config.items() if isinstance(v, dict) and "name" in v and "args" in v}


@cache
def _weights_sha256(path: str, mtime: float) -> str:
    return file_sha256(path)


def _base(key: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A tower's base weights: name, sha256 of the weights file and licence, where they can be known offline."""
    name = spec["args"].get("model_name_or_path")
    found = {"tower": key, "encoder": spec["name"], "name": name, "sha256": None, "license": None, "hub_id": None}
    if name is None:
        return found
    packaged = next((p for short, p in PACKAGED.items() if name in (short, p.hub_id)), None)
    folder = Path(name).expanduser()
    if packaged is not None:
        found |= {"sha256": packaged.sha256, "hub_id": packaged.hub_id}
        origin = importlib.util.find_spec(packaged.package)
        folder = Path(origin.origin).parent / packaged.subdir if origin and origin.origin else folder
    elif folder.is_dir() and (folder / "model.safetensors").is_file():
        weights = folder / "model.safetensors"
        found["sha256"] = _weights_sha256(str(weights), weights.stat().st_mtime)
    found["license"] = _license(folder / "README.md")
    return found


def _license(readme: Path) -> str | None:
    try:
        text = readme.read_text(encoding="utf-8")
        if text.startswith("---"):
            meta = yaml.safe_load(text.split("---", 2)[1]) or {}
            return str(meta["license"]) if meta.get("license") else None
    except (OSError, ValueError, yaml.YAMLError, IndexError):
        pass
    return None


def _front_matter(config: dict[str, Any], bases: list[dict[str, Any]], layout: str) -> str:
    library = _LIBRARIES.get(layout, "sentence-transformers")
    tags = ["textsiam", "sentence-similarity", f"{config['pair_model']}-model", *(["onnx"] if layout == "onnx" else [])]
    meta: dict[str, Any] = {"library_name": library, "pipeline_tag": "sentence-similarity", "tags": tags}
    hub = sorted({b["hub_id"] or b["name"] for b in bases if b["hub_id"] or _hub_name(b["name"])})
    if hub:
        meta["base_model"] = hub[0] if len(hub) == 1 else hub
    licences = sorted({b["license"] for b in bases if b["license"]})
    if licences:
        meta["license"] = licences[0] if len(licences) == 1 else "other"
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n"


def _hub_name(name: str | None) -> bool:
    """``owner/model`` that is no local folder: a hub id (a local path is no base model the hub knows)."""
    return bool(name) and name.count("/") == 1 and not Path(name).expanduser().exists()


def _architecture(config: dict[str, Any], model: Any) -> str:
    lines = ["## Architecture\n", f"- pair model: `{config['pair_model']}`; compared by `{model.score_name}`"]
    lines.append(f"- embedding dimension: {model.embedding_dim}")
    for key, spec in _towers(config).items():
        args = ", ".join(f"{k}={v!r}" for k, v in spec["args"].items() if v not in (None, [], {}))
        lines.append(f"- tower `{key}`: `{spec['name']}` ({args})")
    if config.get("projection_dim"):
        lines.append(f"- projection: a linear layer per side into {config['projection_dim']} dimensions")
    return "\n".join(lines) + "\n"


def _bases(bases: list[dict[str, Any]]) -> str:
    rows = [
        f"| {b['tower']} | {b['name'] or '(none)'} | {b['sha256'] or 'n/a'} | {b['license'] or 'n/a'} |" for b in bases
    ]
    return "## Base weights\n\n| tower | weights | sha256 (model.safetensors) | licence |\n|---|---|---|---|\n" + (
        "\n".join(rows) + "\n"
    )


def _data(data: dict[str, Any] | None) -> str:
    if not data:
        return "## Training data\n\nNot recorded (the model was not saved by a training run).\n"
    rows = []
    for role, d in data.items():
        note = "; ".join(filter(None, [d.get("note"), d.get("subset_of_rows") and f"of {d['subset_of_rows']} rows"]))
        rows.append(f"| {role} | {d.get('file')} | {d.get('rows')} | {d.get('sha256') or 'n/a'} | {note} |")
    return (
        "## Training data\n\n| role | file | rows | sha256 | note |\n|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


def _recipe(settings: dict[str, Any] | None) -> str:
    if not settings:
        return "## Recipe\n\nNot recorded.\n"
    return "## Recipe (`train_config.yaml`)\n\n```yaml\n" + yaml.safe_dump(settings, sort_keys=False) + "```\n"


def _number(name: str, value: float) -> str:
    """A metric as the card shows it: a count (``n``) as a whole number, any other value with 4 decimals."""
    return str(int(value)) if name == "n" and float(value).is_integer() else f"{value:.4f}"


def _epochs(log: list[dict[str, Any]]) -> str:
    evals = {r["epoch"]: r.get("metrics", {}) for r in log if r.get("type") == "eval"}
    epochs = [r for r in log if r.get("type") == "epoch"]
    if not epochs:
        return "## Dev metrics per epoch\n\nNot recorded.\n"
    names = sorted({k for m in evals.values() for k, v in m.items() if isinstance(v, int | float)})
    columns = ["epoch", "step", "train loss", *names]
    rows = []
    for r in epochs:
        metrics = evals.get(r["epoch"], {})
        values = [_number(n, metrics[n]) if isinstance(metrics.get(n), int | float) else "" for n in names]
        rows.append([str(r["epoch"]), str(r.get("step")), f"{r.get('train_loss', float('nan')):.4f}", *values])
    table = "\n".join("| " + " | ".join(cells) + " |" for cells in [columns, ["---"] * len(columns), *rows])
    note = "" if names else "\nNo dev set was given: the last epoch is the model.\n"
    return "## Dev metrics per epoch (`train_log.jsonl`)\n\n" + table + "\n" + note


def _decision(decision: dict[str, Any] | None) -> str:
    if not decision:
        return "## Decision\n\nNone: this model has no tuned threshold (`textsiam tune-threshold` fits one).\n"
    lines = [
        "## Decision (`decision.json`)\n",
        f"A pair matches when its {decision.get('score')} score is >= **{decision['threshold']:.6g}** "
        f"(strategy `{decision['strategy']}`"
        + (f", target {decision['target']}" if decision.get("target") else "")
        + ").",
    ]
    metrics = {k: v for k, v in (decision.get("metrics") or {}).items() if isinstance(v, int | float)}
    if metrics:
        lines.append(
            "\nHeld-out estimates: " + ", ".join(f"{k} {_number(k, v)}" for k, v in sorted(metrics.items())) + "."
        )
    if decision.get("data"):
        lines.append(f"\nTuned on: {json.dumps(decision['data'], sort_keys=True)}.")
    calibrator = decision.get("calibrator")
    lines.append(
        f"\nCalibration: `{calibrator.get('name')}` maps scores to match probabilities (`predict_proba`)."
        if calibrator
        else "\nCalibration: none (no probabilities; `--calibrate platt` or `isotonic` fits one)."
    )
    return "\n".join(lines) + "\n"


_USAGE = {
    "textsiam": """```python
import textsiam
model = textsiam.load("THIS_FOLDER")          # scores, predict (with the decision), encode
model.similarity_scores(["a dog runs"], ["a dog is running"])
```
sentence-transformers, transformers and onnxruntime read an exported copy:
`textsiam export --model THIS_FOLDER --out ST_FOLDER` (sentence-transformers), `--format hf` (transformers),
`--format onnx [--quantize int8]` (onnxruntime).
""",
    "st": """```python
import textsiam                                  # the same model, with its decision (predict, predict_proba)
model = textsiam.load("THIS_FOLDER")
from sentence_transformers import SentenceTransformer
st = SentenceTransformer("THIS_FOLDER")          # a two-tower model: st.encode_query / st.encode_document
embeddings = st.encode(["a dog runs"])
from transformers import AutoModel, AutoTokenizer  # the transformer alone (no pooling, Dense or Normalize)
transformer = AutoModel.from_pretrained("THIS_FOLDER")
```
""",
    "onnx": """```python
from sentence_transformers import SentenceTransformer   # + optimum-onnx[onnxruntime]: transformers<4.58, ST 5.x
st = SentenceTransformer("THIS_FOLDER", backend="onnx")  # int8: model_kwargs={"file_name": "onnx/model_qint8_....onnx"}
import onnxruntime                                        # onnxruntime alone: sentence_embedding is the embedding
from transformers import AutoTokenizer
session = onnxruntime.InferenceSession("THIS_FOLDER/onnx/model.onnx")
features = AutoTokenizer.from_pretrained("THIS_FOLDER")(["a dog runs"], padding=True, return_tensors="np")
names = {i.name for i in session.get_inputs()}
embedding = session.run(["sentence_embedding"], {k: v for k, v in features.items() if k in names})[0]
import textsiam                                           # textsiam reads the folder back, decision included
model = textsiam.load("THIS_FOLDER")
```
""",
    "hf": """```python
from transformers import AutoModel, AutoTokenizer   # the transformer alone: pool its last hidden states yourself
model, tokenizer = AutoModel.from_pretrained("THIS_FOLDER"), AutoTokenizer.from_pretrained("THIS_FOLDER")
```
""",
}


def _usage(layout: str) -> str:
    key = layout if layout in ("textsiam", "onnx", "hf") else "st"
    return "## How to load\n\n" + _USAGE[key]
