"""Read a run folder's TensorBoard event files and mlflow run back with the trackers' own libraries.

python scripts/read_tracking.py runs/mat_plain
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> None:
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = Path(sys.argv[1])
    events = EventAccumulator(str(folder / "runs"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    scalars = {tag: [(e.step, round(e.value, 6)) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
    print("tensorboard scalars:", json.dumps(scalars))
    print("tensorboard texts:", sorted(events.Tags()["tensors"]))
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=(folder / "mlruns").resolve().as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("textsiam").experiment_id])
    print("mlflow run:", run.info.run_id, run.info.status)
    print("mlflow params (some):", {k: run.data.params[k] for k in sorted(run.data.params)[:8]})
    print("mlflow metrics:", json.dumps(run.data.metrics))
    history = client.get_metric_history(run.info.run_id, "train/loss")
    print("mlflow train/loss history:", [(m.step, round(m.value, 6)) for m in history])
    print("mlflow artifacts:", [a.path for a in client.list_artifacts(run.info.run_id)])


if __name__ == "__main__":
    main()
