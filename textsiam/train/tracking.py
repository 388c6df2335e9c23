"""Experiment trackers as trainer callbacks: ``--report-to tensorboard`` or ``mlflow`` (optional extras).

Each logs the loss and learning rate of every logged step, the dev metrics and training loss of every epoch, the
run's settings at the start and the final summary (best metric, the tuned decision when there is one) at the end.
Both packages are imported only when their tracker is built; a missing one is a ConfigError naming the extra.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from textsiam.errors import ConfigError
from textsiam.registry import TRACKERS
from textsiam.train.callbacks import Callback


def tracker_names(names: list[str] | tuple[str, ...] | str | None) -> list[str]:
    """The registered tracker names of ``report_to`` (``"none"`` or None: none), checked: a ConfigError names an
    unknown tracker (with the valid names) or ``"none"`` given beside trackers."""
    if names is None:
        return []
    names = [names] if isinstance(names, str) else list(names)
    if "none" in names and len(names) > 1:
        raise ConfigError(f"report_to {names} mixes 'none' with trackers; pass 'none' alone or only trackers")
    for name in names:
        if name != "none":
            TRACKERS.get(name)
    return [name for name in names if name != "none"]


def build_trackers(names: list[str] | tuple[str, ...] | str | None, out_dir: str | Path | None) -> list[Callback]:
    """The trackers named (``"none"`` or None: no tracker); each writes under ``out_dir`` unless told otherwise."""
    return [TRACKERS.build(name, out_dir=out_dir) for name in tracker_names(names)]


class HeldEnd(Callback):
    """Passes every hook on to ``callbacks`` but holds ``on_train_end`` until :meth:`finish`: ``fit`` calls it with
    the summary and the decision tuned after the trainer returned (S3: the final summary includes the decision).
    ``settings``: the run's settings (data, preset, config) given to ``on_train_begin`` instead of the config's."""

    def __init__(self, callbacks: list[Callback], settings: dict[str, Any] | None = None) -> None:
        self.callbacks, self.settings = callbacks, settings

    def on_train_begin(self, settings: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(self.settings or settings)

    def on_log(self, record: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_log(record)

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> bool:
        return any([callback.on_epoch_end(epoch, record) for callback in self.callbacks])  # every one is called

    def finish(self, summary: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_train_end(summary)


def flat_settings(settings: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested settings as ``{"a.b": "value"}`` strings (both trackers store parameters as flat strings)."""
    flat: dict[str, str] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat |= flat_settings(value, name + ".")
        else:
            flat[name] = value if isinstance(value, str) else json.dumps(value, default=str)
    return flat


def scalars(record: dict[str, Any]) -> tuple[int | None, dict[str, float]]:
    """``(step, {name: value})`` of one train-log record: step loss / lr, epoch train loss, dev metrics."""
    kind, step = record.get("type"), record.get("step")
    if kind == "step":
        values = {"train/loss": record.get("loss"), "train/lr": record.get("lr")}
    elif kind == "epoch":
        values = {f"epoch/{k}": v for k, v in record.items() if k not in ("type", "epoch", "step")}
    elif kind == "eval":
        values = {f"dev/{k}": v for k, v in (record.get("metrics") or {}).items()}
    else:
        values = {}
    return step, {k: float(v) for k, v in values.items() if _number(v)}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _missing(package: str, extra: str) -> ConfigError:
    return ConfigError(
        f"--report-to {extra} needs the {package!r} package: pip install 'textsiam[{extra}]' (or --report-to none)"
    )


@TRACKERS.register("tensorboard")
class TensorBoardTracker(Callback):
    """TensorBoard event files under ``OUT/runs`` (or ``log_dir``): scalars per step and epoch, settings as text."""

    def __init__(self, out_dir: str | Path | None = None, log_dir: str | Path | None = None) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package
        except ImportError:
            raise _missing("tensorboard", "tensorboard") from None
        self._writer_class = SummaryWriter
        self.log_dir = Path(log_dir) if log_dir else Path(out_dir or ".") / "runs"
        self.writer: Any = None

    def on_train_begin(self, settings: dict[str, Any]) -> None:
        self.writer = self._writer_class(log_dir=str(self.log_dir))
        table = "\n".join(f"| {k} | {v} |" for k, v in flat_settings(settings).items())
        self.writer.add_text("settings", "| setting | value |\n| --- | --- |\n" + table, 0)

    def on_log(self, record: dict[str, Any]) -> None:
        step, values = scalars(record)
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)

    def on_train_end(self, summary: dict[str, Any]) -> None:
        step = summary.get("steps")
        for name, value in summary.items():
            if _number(value):
                self.writer.add_scalar(f"summary/{name}", float(value), step)
        self.writer.add_text("summary", "```\n" + json.dumps(summary, indent=1, default=str) + "\n```", step or 0)
        self.writer.close()


@TRACKERS.register("mlflow")
class MlflowTracker(Callback):
    """An mlflow run in ``OUT/mlruns`` (or ``tracking_uri``): settings as parameters, metrics per step and epoch, the
    summary as metrics, tags and a ``summary.json`` artifact.

    The default ``OUT/mlruns`` is mlflow's file store, which mlflow 3 opens only with ``MLFLOW_ALLOW_FILE_STORE``
    set: this tracker sets it to "true" unless it is already set. Pass ``tracking_uri`` (e.g. a server, or
    ``sqlite:///...`` with a full mlflow install) to log elsewhere."""

    def __init__(
        self,
        out_dir: str | Path | None = None,
        tracking_uri: str | None = None,
        experiment: str = "textsiam",
        run_name: str | None = None,
    ) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise _missing("mlflow", "mlflow") from None
        if tracking_uri is None:  # mlflow 3 keeps its file store in maintenance mode, behind this switch
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        uri = tracking_uri or (Path(out_dir or ".") / "mlruns").resolve().as_uri()
        self.client, self.experiment, self.run_name = MlflowClient(tracking_uri=uri), experiment, run_name
        self.run_id: str | None = None
        try:  # open the store now, before any training, so a bad URI fails fast
            self._found = self.client.get_experiment_by_name(experiment)
        except Exception as err:  # mlflow raises its own exception types for unreachable or refused stores
            raise ConfigError(f"--report-to mlflow: cannot open the tracking store {uri}: {err}") from None

    def on_train_begin(self, settings: dict[str, Any]) -> None:
        found = self._found or self.client.get_experiment_by_name(self.experiment)
        experiment_id = found.experiment_id if found else self.client.create_experiment(self.experiment)
        self.run_id = self.client.create_run(experiment_id, run_name=self.run_name).info.run_id
        for key, value in flat_settings(settings).items():
            self.client.log_param(self.run_id, key, value[:6000])  # mlflow's limit on a parameter's length

    def on_log(self, record: dict[str, Any]) -> None:
        step, values = scalars(record)
        for name, value in values.items():
            self.client.log_metric(self.run_id, name, value, step=step or 0)

    def on_train_end(self, summary: dict[str, Any]) -> None:
        for name, value in summary.items():
            if _number(value):
                self.client.log_metric(self.run_id, f"summary/{name}", float(value), step=summary.get("steps") or 0)
            elif isinstance(value, str):
                self.client.set_tag(self.run_id, f"summary.{name}", value)
        self.client.log_dict(self.run_id, json.loads(json.dumps(summary, default=str)), "summary.json")
        self.client.set_terminated(self.run_id)
