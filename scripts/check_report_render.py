"""Render an evaluation report in headless Chromium and check that the screenshot shows content and plots.

    python scripts/check_report_render.py                      # builds a report from synthetic scores first
    python scripts/check_report_render.py --report-dir runs/x  # checks an existing runs/x/report.html

Installs nothing. Exit codes: 0 rendered and not blank, 1 blank or failed render, 2 Chromium missing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def build_synthetic_report(out_dir: Path, seed: int = 0) -> Path:
    """A binary report with a calibrated decision, texts and a training log, from made-up scores."""
    from textsiam.eval import fit_decision, write_report

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 2000)
    scores = np.round(np.tanh(0.9 * labels + 0.6 * rng.normal(size=2000)), 3)
    log = out_dir / "train_log.jsonl"
    with log.open("w", encoding="utf-8") as f:
        for step in range(10, 3010, 10):
            loss = 1.0 / (1.0 + step / 300) + 0.02 * rng.normal()
            f.write(json.dumps({"type": "step", "epoch": 1 + step // 1000, "step": step, "loss": loss}) + "\n")
            if step % 1000 == 0:
                metrics = {"spearman": 0.70 + step / 30000, "accuracy": 0.72 + step / 40000}
                f.write(json.dumps({"type": "eval", "epoch": step // 1000, "step": step, "metrics": metrics}) + "\n")
    decision = fit_decision(scores, labels, "max-f1", calibrate="platt")
    texts = [f"pair {i}: <text> & more" for i in range(2000)]
    return write_report(
        out_dir, scores, labels, graded=False, decision=decision, texts_a=texts, texts_b=texts, train_log=log
    )


def screenshot(html_path: Path, png_path: Path, timeout: float = 120.0, height: int = 4000) -> None:
    """Render ``html_path`` with headless Chromium into ``png_path`` (a 1280 x ``height`` window: what lies below
    is not in the picture)."""
    with tempfile.TemporaryDirectory(prefix="textsiam-chromium-") as profile:
        cmd = [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={png_path}",
            f"--window-size=1280,{height}",
            html_path.resolve().as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0 or not png_path.is_file():
        raise RuntimeError(f"chromium failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")


def inspect_png(png_path: Path) -> dict:
    """Count non-white pixels (anything rendered) and saturated pixels (coloured plot content)."""
    from PIL import Image

    rgb = np.asarray(Image.open(png_path).convert("RGB"), dtype=np.int16)
    non_white = np.any(rgb < 245, axis=-1)
    saturation = rgb.max(axis=-1) - rgb.min(axis=-1)
    return {
        "size": [int(rgb.shape[1]), int(rgb.shape[0])],
        "non_white_pixels": int(non_white.sum()),
        "coloured_pixels": int((saturation > 60).sum()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-dir", type=Path, help="folder holding report.html (default: build a synthetic one)")
    parser.add_argument("--out", type=Path, help="screenshot path (default: <report dir>/report_screenshot.png)")
    parser.add_argument(
        "--height", type=int, default=4000, help="window height in pixels (a caption-image report needs ~9000)"
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        print(f"{CHROMIUM} not found; install it with:\n  apt-get install -y chromium", file=sys.stderr)
        return 2
    report_dir = args.report_dir or Path(tempfile.mkdtemp(prefix="textsiam-report-"))
    html_path = report_dir / "report.html"
    if args.report_dir is None:
        build_synthetic_report(report_dir)
    elif not html_path.is_file():
        print(f"{html_path} does not exist; write one with textsiam.eval.write_report", file=sys.stderr)
        return 1
    png_path = args.out or report_dir / "report_screenshot.png"
    screenshot(html_path, png_path, height=args.height)
    stats = inspect_png(png_path)
    ok = stats["non_white_pixels"] > 20_000 and stats["coloured_pixels"] > 5_000  # text and at least one plot
    print(json.dumps({"report": str(html_path), "screenshot": str(png_path), **stats, "ok": ok}, indent=2))
    print(png_path)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
