"""Trains the engagement model on the simulated impression log, evaluates it against two baselines on a
time-based holdout, and ships it as ONNX only if it beats both on AUC and NDCG@20.

Writes (all deterministic, no timestamps, so a rerun with the same seed changes no bytes):
- models/engagement-v1.onnx: input `features` float32 [N, F] in schema order, output `p_engage` float32 [N];
  metadata carries the model version and the feature schema's name, version and hash;
- models/engagement-v1.metrics.json: the quality table and data sizes (read by bench/ranking.ts);
- models/MODEL_CARD.md;
- test/fixtures/ranking-parity.json: 100 fixed holdout rows with their raw inputs, features and Python scores;
- test/fixtures/ranking-wrong-schema.onnx: a tiny model trained against another schema, which serving must refuse.

Usage: python ranking/train.py [--data ranking/data/impressions.npz]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from importlib.metadata import version
from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from onnxmltools import convert_lightgbm
from onnxmltools.convert.common.data_types import FloatTensorType
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from feature_schema import build_matrix, feature_names, load_schema, schema_hash
from model_card import model_card

HERE = Path(__file__).parent
ROOT = HERE.parent
MODEL_VERSION = "engagement-v1"
SEED = 20260601
TARGET_OPSET = 15  # the converter uses the lowest opsets that suffice, up to this
IR_VERSION = 8  # enough for opset 15; onnxruntime-node 1.30 loads up to IR 11
PARITY_TOLERANCE = 1e-5
# Chosen on a validation day inside the training window (train days 0-6, validate day 7), never on the holdout.
LGBM_PARAMS = dict(
    n_estimators=400,
    learning_rate=0.05,
    num_leaves=7,
    min_child_samples=200,
    subsample=0.8,
    subsample_freq=1,
    colsample_bytree=0.9,
    reg_lambda=1.0,
    random_state=SEED,
    deterministic=True,
    force_row_wise=True,
    n_jobs=2,
    verbose=-1,
)


def ndcg_at(k: int, requests: np.ndarray, labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean NDCG@k over requests with at least one engagement; ties keep log order (stable sort)."""
    order = np.lexsort((-scores, requests))
    req, lab = requests[order], labels[order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, req[1:] != req[:-1]])
    ends = np.r_[starts[1:], req.size]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    values = []
    for s, e in zip(starts, ends):
        gains = lab[s:e]
        if gains.sum() == 0:
            continue
        ideal = np.sort(gains)[::-1][:k]
        values.append((gains[:k] * discounts[: min(k, e - s)]).sum() / (ideal * discounts[: ideal.size]).sum())
    return float(np.mean(values))


def quality(name: str, requests: np.ndarray, labels: np.ndarray, scores: np.ndarray) -> dict:
    return {
        "name": name,
        "auc": round(float(roc_auc_score(labels, scores)), 4),
        "ndcg20": round(ndcg_at(20, requests, labels, scores), 4),
    }


def exact_thresholds(onx: onnx.ModelProto, booster: lgb.Booster) -> int:
    """Rounds split thresholds down to float32 so the ONNX trees route float32 inputs as LightGBM does.

    LightGBM compares `x <= t` in double; the converter stores t rounded to the nearest float32, which sends an
    input equal to a rounded-up threshold the wrong way. For a float32 x, `x <= t` holds exactly when
    `x <= the largest float32 not above t`. Returns how many thresholds changed.
    """
    by_feature: dict[int, list[float]] = {}

    def walk(node: dict) -> None:
        if "split_feature" in node:
            if node["decision_type"] != "<=":
                raise ValueError(f"unsupported split {node['decision_type']}")
            by_feature.setdefault(node["split_feature"], []).append(node["threshold"])
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    down: dict[tuple[int, float], float] = {}
    for f, ts in by_feature.items():
        for t in ts:
            v = np.float32(t)
            d = float(v if float(v) <= t else np.nextafter(v, np.float32(-np.inf)))
            key = (f, float(v))
            if down.setdefault(key, d) != d:
                raise ValueError(f"feature {f}: thresholds round to {v} from both sides")
    trees = [n for n in onx.graph.node if n.op_type == "TreeEnsembleClassifier"]
    changed = 0
    for node in trees:
        attrs = {a.name: a for a in node.attribute}
        modes, feats, values = attrs["nodes_modes"].strings, attrs["nodes_featureids"].ints, attrs["nodes_values"]
        for i, mode in enumerate(modes):
            if mode == b"BRANCH_LEQ":
                new = down[(feats[i], float(np.float32(values.floats[i])))]
                if new != float(np.float32(values.floats[i])):
                    values.floats[i] = new
                    changed += 1
    return changed


def to_engagement_onnx(model: lgb.LGBMClassifier, schema: dict, digest: str) -> onnx.ModelProto:
    n = len(schema["features"])
    onx = convert_lightgbm(
        model, initial_types=[("features", FloatTensorType([None, n]))], target_opset=TARGET_OPSET, zipmap=False
    )
    print(f"  float32 thresholds rounded down: {exact_thresholds(onx, model.booster_)}")
    g = onx.graph
    # One output, the positive-class probability, so serving reads a flat [N] tensor.
    g.initializer.append(helper.make_tensor("positive_class", TensorProto.INT64, [], [1]))
    g.node.append(helper.make_node("Gather", ["probabilities", "positive_class"], ["p_engage"], axis=1))
    del g.output[:]
    g.output.append(helper.make_tensor_value_info("p_engage", TensorProto.FLOAT, [None]))
    g.name = MODEL_VERSION
    onx.ir_version = IR_VERSION
    onx.producer_name = "feedflow/ranking/train.py"
    onx.model_version = 1
    onx.doc_string = "P(engage) of a (viewer, post) pair; features per ranking/feature-schema.json"
    del onx.metadata_props[:]
    onnx.helper.set_model_props(
        onx,
        {
            "model_version": MODEL_VERSION,
            "feature_schema_name": schema["name"],
            "feature_schema_version": str(schema["version"]),
            "feature_schema_hash": digest,
            "feature_names": ",".join(feature_names(schema)),
        },
    )
    onnx.checker.check_model(onx, full_check=True)
    return onx


def wrong_schema_model(path: Path) -> None:
    """A small logistic regression over three features, tagged with a schema that serving does not have."""
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x[:, 0] + rng.normal(size=200) > 0).astype(np.int64)
    onx = to_onnx(LogisticRegression().fit(x, y), x[:1], target_opset=TARGET_OPSET, options={"zipmap": False})
    onx.ir_version = IR_VERSION
    onnx.helper.set_model_props(
        onx,
        {
            "model_version": "wrong-schema-fixture",
            "feature_schema_name": "engagement",
            "feature_schema_version": "0",
            "feature_schema_hash": "0" * 64,
            "feature_names": "a,b,c",
        },
    )
    path.write_bytes(onx.SerializeToString())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(HERE / "data" / "impressions.npz"))
    ap.add_argument("--params", default=str(HERE / "simulator.json"))
    args = ap.parse_args()
    schema = load_schema()
    digest = schema_hash(schema)
    with open(args.params, encoding="utf-8") as f:
        sim = json.load(f)
    log = dict(np.load(args.data))
    x = build_matrix(schema, log)
    y = log["label"].astype(np.int64)
    cutoff = (sim["world"]["loggedDays"] - sim["world"]["holdoutDays"]) * 24
    train, hold = log["hour"] < cutoff, log["hour"] >= cutoff
    req = log["request"]

    model = lgb.LGBMClassifier(**LGBM_PARAMS).fit(x[train], y[train])
    p_model = model.predict_proba(x[hold])[:, 1]
    ref = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x[train], y[train])
    age = log["postAgeHours"][hold]
    table = [
        quality("LightGBM (shipped)", req[hold], y[hold], p_model),
        quality("logistic regression (reference)", req[hold], y[hold], ref.predict_proba(x[hold])[:, 1]),
        quality("baseline: recency only", req[hold], y[hold], -age),
        # Strength first, recency breaks ties: what a feed without a model would do.
        quality("baseline: connection strength", req[hold], y[hold], log["connectionStrength"][hold] - 1e-6 * age),
        quality("oracle: ground-truth p (upper bound)", req[hold], y[hold], log["pTrue"][hold]),
    ]
    shipped, baselines = table[0], table[2:4]
    for row in table:
        print(f"  {row['name']:40s} AUC {row['auc']:.4f}  NDCG@20 {row['ndcg20']:.4f}")
    beaten = all(shipped[m] > b[m] for b in baselines for m in ("auc", "ndcg20"))
    if not beaten:
        print("train: the model does not beat both baselines on the holdout; not shipping it", file=sys.stderr)
        return 1

    onx = to_engagement_onnx(model, schema, digest)
    models = ROOT / "models"
    models.mkdir(exist_ok=True)
    model_path = models / f"{MODEL_VERSION}.onnx"
    model_path.write_bytes(onx.SerializeToString())

    # Parity: the ONNX graph must reproduce LightGBM's own probabilities on the whole holdout.
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    p_onnx = sess.run(["p_engage"], {"features": x[hold]})[0]
    max_diff = float(np.max(np.abs(p_onnx - p_model)))
    print(f"  parity LightGBM vs ONNX on {hold.sum()} holdout rows: max |diff| {max_diff:.2e}")
    if max_diff > PARITY_TOLERANCE:
        print(f"train: ONNX export drifts from the model by {max_diff:.2e}", file=sys.stderr)
        return 1

    hold_idx = np.flatnonzero(hold)
    pick = np.sort(np.random.default_rng(SEED).choice(hold_idx.size, size=100, replace=False))
    inputs = list(schema["inputs"])
    rows = []
    for i in pick:
        j = hold_idx[i]
        raw = {k: (log[k][j].item() if log[k].dtype.kind != "U" else str(log[k][j])) for k in inputs}
        raw["hasMedia"] = bool(raw["hasMedia"])
        rows.append(
            {
                "inputs": raw,
                "features": [float(v) for v in x[j]],
                "score": float(p_model[i]),
                "onnxScore": float(p_onnx[i]),
            }
        )
    fixtures = ROOT / "test" / "fixtures"
    fixtures.mkdir(parents=True, exist_ok=True)
    parity = {
        "modelPath": f"models/{MODEL_VERSION}.onnx",
        "modelVersion": MODEL_VERSION,
        "schemaHash": digest,
        "tolerance": PARITY_TOLERANCE,
        "rows": rows,
    }
    # One row a line: readable diffs without a 2,000-line file.
    head = json.dumps({k: v for k, v in parity.items() if k != "rows"}, indent=2)[:-2]
    body = ",\n".join("    " + json.dumps(r) for r in rows)
    (fixtures / "ranking-parity.json").write_text(f'{head},\n  "rows": [\n{body}\n  ]\n}}\n', encoding="utf-8")
    wrong_schema_model(fixtures / "ranking-wrong-schema.onnx")

    positives = {d: float(log["label"][train & (log["degree"] == d)].mean()) for d in schema["inputs"]["degree"]["values"]}
    gain = model.booster_.feature_importance(importance_type="gain")
    metrics = {
        "modelVersion": MODEL_VERSION,
        "modelPath": f"models/{MODEL_VERSION}.onnx",
        "schema": {"name": schema["name"], "version": schema["version"], "hash": digest},
        "data": {
            "source": "ranking/simulate.py with ranking/simulator.json",
            "impressions": int(y.size),
            "trainRows": int(train.sum()),
            "holdoutRows": int(hold.sum()),
            "holdoutRequests": int(np.unique(req[hold]).size),
            "trainEngagementRate": round(float(y[train].mean()), 4),
            "holdoutEngagementRate": round(float(y[hold].mean()), 4),
            "trainEngagementRateByDegree": {k: round(v, 4) for k, v in positives.items()},
        },
        "quality": table,
        "shipped": True,
        "parity": {"holdoutMaxAbsDiff": max_diff, "tolerance": PARITY_TOLERANCE},
        "featureImportanceGain": {
            n: round(float(g / gain.sum()), 4) for n, g in zip(feature_names(schema), gain)
        },
        "trainer": {
            "lightgbm": LGBM_PARAMS,
            "opsets": {o.domain or "ai.onnx": o.version for o in onx.opset_import},
            "irVersion": onx.ir_version,
        },
        "packages": {p: version(p) for p in ("numpy", "scikit-learn", "lightgbm", "onnx", "onnxmltools", "onnxruntime")},
    }
    # Exponents as prettier writes them (1e-5, not 1e-05), so `prettier --check .` passes on the artifact.
    text = re.sub(r"e(-?)0+(\d)", r"e\1\2", json.dumps(metrics, indent=2))
    (models / f"{MODEL_VERSION}.metrics.json").write_text(text + "\n", encoding="utf-8")
    (models / "MODEL_CARD.md").write_text(model_card(schema, metrics, sim), encoding="utf-8")
    print(f"train: shipped {model_path.relative_to(ROOT)} ({model_path.stat().st_size} bytes), schema {digest[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
