"""Faults during training: SIGINT / SIGKILL mid-run, a kill during the checkpoint swap, then ``--resume``.

The runs are real subprocesses on the embedded digits data; each resumed run must complete and leave a
``train_log.jsonl`` with every step once and every epoch's evaluation once.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers.fixtures import ROOT
from textsiam.models import create_model, load_model
from textsiam.train import TrainConfig, Trainer
from textsiam.train.records import truncate_log

TRAIN = {"epochs": 5, "log_every": 1, "batch_size": 32, "lr": 0.002, "loss": "contrastive", "warmup_ratio": 0.0}
LIMIT = 192  # training pairs: 6 steps per epoch
STEPS = 5 * math.ceil(LIMIT / 32)
# The signal test sends its signal once epoch 2 is logged, so the steps left must outlast the test's polling however
# fast the machine trains (20 epochs of the digits MLP once finished before the signal arrived). The first run goes
# through this driver, which makes each step take at least 0.25 s: the 18 steps after epoch 2 last 4.5 s or more.
# It also restores Python's SIGINT handler: a test run started as a background job of a non-interactive shell
# (`cmd &`, nohup) has SIGINT ignored, the child inherits that, and Python then never raises KeyboardInterrupt.
_SLOW_STEPS = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from textsiam.train import Trainer
real = Trainer._loss
def slow(self, *args):
    time.sleep(0.25)
    return real(self, *args)
Trainer._loss = slow
from textsiam.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _train_cmd(out: Path, *extra: str) -> list[str]:
    cfg = out.parent / f"{out.name}.yaml"
    cfg.write_text(yaml.safe_dump({"preset": "digits-mlp-twin", "train": "digits:train", "dev": "digits:dev", **TRAIN}))
    args = ["train", "--config", str(cfg), "--out", str(out), "--limit", str(LIMIT), "--quiet", *extra]
    return [sys.executable, "-m", "textsiam.cli.main", *args]


def _log(out: Path) -> list[dict]:
    path = out / "train_log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _assert_complete(out: Path) -> None:
    log = _log(out)
    steps = [r["step"] for r in log if r["type"] == "step"]
    evals = [r["epoch"] for r in log if r["type"] == "eval"]
    assert steps == list(range(1, STEPS + 1)), steps  # each step once, in order
    assert evals == list(range(1, TRAIN["epochs"] + 1))
    assert load_model(out).embedding_dim > 0 and not list(out.glob(".*.tmp")) and not (out / ".checkpoint.old").exists()


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: signals, exit codes, log lines, checkpoint files
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_signal_mid_training_then_resume_completes_with_each_step_logged_once(tmp_path, sig):
    out = tmp_path / "run"
    cmd = _train_cmd(out)
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_STEPS, *cmd[3:]], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while not any(r.get("epoch", 0) >= 2 for r in _log(out)):  # the epoch-1 checkpoint exists from here on
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()[-2000:]
        time.sleep(0.01)
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 130), "the run ended before the signal"
    resumed = subprocess.run(_train_cmd(out, "--resume"), env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _assert_complete(out)


_SWAP_KILL = """
import os, signal, sys
from textsiam.train import checkpoint
real = os.replace
def replace(src, dst):
    real(src, dst)
    if str(dst).endswith(".checkpoint.old"):  # the old checkpoint moved aside, the new one not yet in place
        os.kill(os.getpid(), signal.SIGKILL)
checkpoint.os.replace = replace
from textsiam.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: a kill, the checkpoint folders, the log
def test_kill_during_the_checkpoint_swap_resumes_from_the_previous_checkpoint(tmp_path):
    out = tmp_path / "run"
    cmd = _train_cmd(out)
    proc = subprocess.run([sys.executable, "-c", _SWAP_KILL, *cmd[3:]], env=_env(), capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not (out / "checkpoint").exists() and (out / ".checkpoint.old" / "state.json").exists()
    state = json.loads((out / ".checkpoint.old" / "state.json").read_text())
    assert state["epoch"] == 1 and (out / ".checkpoint.tmp").exists()  # epoch 2's checkpoint, never swapped in
    resumed = subprocess.run(_train_cmd(out, "--resume"), env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _assert_complete(out)
    assert not (out / ".checkpoint.tmp").exists()


def test_resume_in_process_after_an_interrupt_mid_epoch_logs_each_step_once(tmp_path, monkeypatch):
    from textsiam.data import digit_pairs

    train, dev = digit_pairs("train", n_pairs=LIMIT), digit_pairs("dev", n_pairs=100)
    cfg = TrainConfig(**TRAIN)
    original, calls = Trainer._loss, []

    def interrupt_in_epoch_3(self, *args):
        calls.append(1)
        if len(calls) == 2 * STEPS // TRAIN["epochs"] + 3:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(Trainer, "_loss", interrupt_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        Trainer(create_model("digits-mlp-twin", seed=0), cfg, train, dev, tmp_path, show_progress=False).train()
    monkeypatch.setattr(Trainer, "_loss", original)
    assert max(r["step"] for r in _log(tmp_path)) > 2 * STEPS // TRAIN["epochs"]  # epoch 3 had logged steps
    Trainer(create_model("digits-mlp-twin"), cfg, train, dev, tmp_path, show_progress=False).train(resume=True)
    _assert_complete(tmp_path)


def test_truncate_log_keeps_records_up_to_the_step_and_drops_a_cut_line(tmp_path):
    path = tmp_path / "train_log.jsonl"
    lines = [{"type": "step", "step": s} for s in (1, 2, 3)] + [{"type": "eval", "epoch": 1, "step": 3}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"type": "step", "step": 4}\n{"type": "st')
    truncate_log(path, 3)
    assert [json.loads(line) for line in path.read_text().splitlines()] == lines
