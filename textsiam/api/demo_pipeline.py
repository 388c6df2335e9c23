"""``demo``: the offline tour ``textsiam demo`` prints and ``scripts/bench_digits.py`` measures over seeds.

1. The demo sentence pairs (``textsiam/cli/demo_pairs.tsv``, package data) scored by the pretrained MiniLM twin.
2. The MLP twin ``digits-mlp-twin`` trained on embedded digit pairs, a threshold picked on the dev split, and the
   test pairs scored.

Each part is handed to ``report(part, result)`` as soon as it is done (the CLI prints it), and returned.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEMO_PAIRS = Path(__file__).resolve().parent.parent / "cli" / "demo_pairs.tsv"  # package data: ships in the wheel
PAIRS_PER_IMAGE = 8
"""Training pairs per training image (the data default is two): more distinct pairs, same images, no leakage."""


@dataclass
class DemoScores:
    """Part 1: the demo pairs and their cosine scores, most similar first."""

    source: Path
    rows: list[tuple[float, float, str, str]]  # (score, label, text a, text b)


@dataclass
class DemoDigits:
    """Part 2: the pair counts (known before training), then the test metrics, threshold and seconds."""

    loss: str
    pairs: dict[str, int]  # train / dev / test
    seed: int
    metrics: dict[str, Any] = field(default_factory=dict)  # test metrics plus "threshold" and "seconds"


@dataclass
class DemoResult:
    pretrained: DemoScores | None
    digits: DemoDigits


Report = Callable[[str, Any], None]
"""``report(part, result)``: part "pretrained" (DemoScores), "digits-start" (DemoDigits without metrics yet) or
"digits" (DemoDigits with the test metrics)."""


def score_demo_pairs() -> DemoScores:
    """Part 1: the shipped demo pairs scored by the pretrained all-MiniLM-L6-v2 twin, most similar first."""
    from textsiam.api.scoring import score_pairs
    from textsiam.data.load import load_data
    from textsiam.models.io import create_model

    data = load_data(DEMO_PAIRS)
    scores = score_pairs(create_model("minilm-twin"), data.a, data.b)
    a, b, labels = data.a, data.b, data.labels  # each property access rebuilds the column: read once
    order = sorted(range(len(data)), key=lambda i: -scores[i])  # most similar first
    return DemoScores(DEMO_PAIRS, [(float(scores[i]), float(labels[i]), a[i], b[i]) for i in order])


def train_digits(
    out: str | Path,
    epochs: int | None = None,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    *,
    show_progress: bool = False,
    report: Report | None = None,
) -> DemoDigits:
    """Part 2: train digits-mlp-twin into ``out``; ``seed`` draws the training pairs, initial weights and batch order
    (the image split and the dev/test pairs stay fixed); ``overrides``: TrainConfig fields or ``pairs_per_image`` /
    ``dev_pairs_per_image``. The threshold is chosen on dev (max-accuracy, Platt-calibrated) and saved with the
    model."""
    from textsiam.api.evaluation import evaluate
    from textsiam.api.tune import tune_threshold
    from textsiam.data import digit_pairs
    from textsiam.models.io import create_model, load_model, preset_config, save_model
    from textsiam.train.config import TrainConfig
    from textsiam.train.trainer import Trainer

    say = report or (lambda part, result: None)
    cfg = {**preset_config("digits-mlp-twin")["train"], "seed": seed, **(overrides or {})}
    if epochs:
        cfg["epochs"] = epochs
    per_image = cfg.pop("pairs_per_image", PAIRS_PER_IMAGE)
    dev_per_image = cfg.pop("dev_pairs_per_image", 2)
    test = digit_pairs("test")
    dev = digit_pairs("dev", n_pairs=dev_per_image * len(digit_pairs("dev")) // 2)
    train = digit_pairs("train", n_pairs=per_image * len(digit_pairs("train")) // 2, seed=seed)
    result = DemoDigits(cfg["loss"], {"train": len(train), "dev": len(dev), "test": len(test)}, seed)
    say("digits-start", result)
    t0 = time.perf_counter()
    model = create_model("digits-mlp-twin", seed=seed)
    Trainer(model, TrainConfig.from_dict(cfg), train, dev, out, show_progress=show_progress).train()
    model = load_model(out)  # the best epoch on dev
    decision = tune_threshold(model, dev, "max-accuracy", calibrate="platt")
    save_model(model, out)
    metrics, _ = evaluate(model, test)
    result.metrics = {**metrics, "threshold": decision.threshold, "seconds": time.perf_counter() - t0}
    say("digits", result)
    return result


def demo(
    out: str | Path | None = None,
    *,
    epochs: int | None = None,
    seed: int = 0,
    pretrained: bool = True,
    overrides: dict[str, Any] | None = None,
    show_progress: bool = False,
    report: Report | None = None,
) -> DemoResult:
    """The whole demo: part 1 unless ``pretrained`` is False (it needs the packaged MiniLM), then part 2 with the
    trained model kept in ``out`` (default: a temporary folder, removed afterwards)."""
    say = report or (lambda part, result: None)
    scores = score_demo_pairs() if pretrained else None
    if scores is not None:
        say("pretrained", scores)
    run = {"epochs": epochs, "seed": seed, "overrides": overrides, "show_progress": show_progress, "report": report}
    if out is not None:
        return DemoResult(scores, train_digits(out, **run))
    with tempfile.TemporaryDirectory() as tmp:
        return DemoResult(scores, train_digits(tmp, **run))
