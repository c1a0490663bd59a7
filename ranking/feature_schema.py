"""The feature schema, Python side: load it, hash it, and turn raw inputs into model rows.

ranking/schema.ts is the serving twin of this module. Both follow ranking/feature-schema.json, and both compute
the same hash (sha256 of the canonical JSON of name, version and features), which the ONNX model carries in its
metadata so that serving can refuse a model trained against another schema.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

SCHEMA_PATH = Path(__file__).with_name("feature-schema.json")


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _canonical(value: Any) -> Any:
    # JSON.stringify writes 1.0 as 1; keep the two languages byte-identical.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def schema_hash(schema: Mapping[str, Any]) -> str:
    core = {"name": schema["name"], "version": schema["version"], "features": schema["features"]}
    text = json.dumps(_canonical(core), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def feature_names(schema: Mapping[str, Any]) -> list[str]:
    return [f["name"] for f in schema["features"]]


def build_matrix(schema: Mapping[str, Any], raw: Mapping[str, np.ndarray]) -> np.ndarray:
    """Rows in schema order, float32, from column arrays keyed by input name (categories as strings)."""
    n = len(next(iter(raw.values())))
    out = np.empty((n, len(schema["features"])), dtype=np.float64)
    for j, feat in enumerate(schema["features"]):
        col = raw[feat["input"]]
        t = feat["transform"]
        if t == "onehot":
            out[:, j] = (col == feat["value"]).astype(np.float64)
        elif t == "boolean":
            out[:, j] = col.astype(bool).astype(np.float64)
        else:
            x = col.astype(np.float64)
            if not np.all(np.isfinite(x)):
                raise ValueError(f"input {feat['input']} has non-finite values")
            lo, hi = feat.get("clip", [-np.inf, np.inf])
            x = np.clip(x, lo, hi)
            out[:, j] = np.log1p(x) if t == "log1p" else x
    return out.astype(np.float32)
