"""The report's training section: the run's curves read from its ``train_log.jsonl``."""

from __future__ import annotations

import html
from pathlib import Path

from textsiam.eval import plots
from textsiam.eval.train_log import read_train_log


def training_section(page, path: Path) -> None:
    if not path.is_file():
        page.add("Training", f'<p class="note">Training log not found: {html.escape(str(path))}</p>')
        return
    log = read_train_log(path)
    figures = []
    if log.get("per_epoch"):
        png = plots.epoch_curves_png(log["per_epoch"])
        figures.append(page.image("epoch_curves", png, "Pair accuracy and loss per epoch"))
    if log["steps"]:
        figures.append(page.image("training_loss", plots.loss_curve_png(log["steps"], log["losses"]), "Training loss"))
    if log["evals"]:
        png = plots.eval_curve_png(log["evals"], log["eval_xlabel"])
        figures.append(page.image("training_eval", png, f"Dev metrics per {log['eval_xlabel']}"))
    body = f'<div class="grid">{"".join(figures)}</div>' if figures else "<p>The log has no step or eval lines.</p>"
    page.add("Training", body)
