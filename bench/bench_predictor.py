"""Single-record and batch scoring speed of the predictor, against XGBoost's own inplace_predict.

Usage: PYTHONPATH=. .venv/bin/python bench/bench_predictor.py [BUNDLE_DIR]
(default: MODEL_DIR, instance/model, else a bundle trained in a temporary folder). About 15 s; no database.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import announce, model_bundle
from futurisys.ml.data import training_matrix
from futurisys.ml.predictor import Predictor


def per_call_us(function, argument_list, repeats: int = 5) -> float:
    """Median over `repeats` runs of the mean time per call, in microseconds."""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for argument in argument_list:
            function(argument)
        runs.append((time.perf_counter() - started) / len(argument_list) * 1e6)
    return statistics.median(runs)


def main() -> None:
    announce("predictor scoring speed", 15)
    with tempfile.TemporaryDirectory(prefix="futurisys-bench-") as work:
        predictor = Predictor.load(model_bundle(sys.argv[1] if len(sys.argv) > 1 else None, Path(work)))
    features, _ = training_matrix()
    records = features.to_dict("records")
    rows = [predictor.encoder.encode_one(r) for r in records]

    raw = per_call_us(lambda row: predictor.booster.inplace_predict(row, predict_type="margin"), rows)
    encode = per_call_us(predictor.encoder.encode_one, records)
    single = per_call_us(predictor.predict_one, records)
    print(f"model {predictor.version}: {predictor.booster.num_boosted_rounds()} XGBoost rounds + logistic regression")
    print(f"Booster.inplace_predict, encoded float32 row : {raw:8.1f} µs/record")
    print(f"encode_one (dict -> float32 row)              : {encode:8.1f} µs/record")
    print(f"Predictor.predict_one (encode + blend)        : {single:8.1f} µs/record")
    print(f"ratio predict_one / inplace_predict           : {single / raw:8.2f}x  (goal <= 3x)")

    batch = records * 7  # 10,290 records
    started = time.perf_counter()
    predictor.predict_many(batch)
    elapsed = time.perf_counter() - started
    print(f"Predictor.predict_many, {len(batch)} records     : {len(batch) / elapsed:8.0f} records/s")


if __name__ == "__main__":
    main()
