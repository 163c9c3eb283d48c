"""How well the model carries over to what it has not seen: a whole corridor or platform style.

The seed corpus is our own writing, so its held-out split flatters: its test ads share writers,
phrasings and places with the training ads. Here each experiment removes a whole destination
corridor (or a whole platform style) from training — train split minus that group, threshold chosen
out-of-fold on what is left — and scores every ad of the group (both splits).

    .venv/bin/python -m classifiers.generalization [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from classifiers.datasets import LabelledAd, load_corpus
from classifiers.evaluate import binary_metrics, corridor, threshold_for_recall
from classifiers.model import DEFAULT_PARAMS, build_pipeline
from classifiers.train import TARGET_RECALL, out_of_fold_risk

logger = logging.getLogger(__name__)

HELD_OUT_CORRIDORS = ("scam_hub", "middle_east", "malaysia_brunei_singapore", "east_asia", "europe")
HELD_OUT_STYLES = (
    "telegram",
    "facebook",
    "whatsapp",
    "classifieds",
    "jobboard",
    "instagram",
    "agency",
)


def hold_out(
    ads: Sequence[LabelledAd], in_group: Callable[[LabelledAd], bool], params: dict[str, Any]
) -> dict[str, Any]:
    """Train without the group (train split only), then score the group's every ad."""
    train = [a for a in ads if a.split != "test" and not in_group(a)]
    group = [a for a in ads if in_group(a)]
    texts = [a.model_text for a in train]
    labels = np.asarray([a.label for a in train])
    with threadpool_limits(limits=1):
        threshold = threshold_for_recall(
            labels, out_of_fold_risk(texts, labels, params), TARGET_RECALL
        )
        pipeline = build_pipeline(**params).fit(texts, labels)
        risks = pipeline.predict_proba([a.model_text for a in group])[:, 1]
    metrics = binary_metrics([a.label for a in group], risks, threshold)
    keep = (
        "n",
        "positives",
        "pr_auc",
        "precision",
        "recall",
        "f1",
        "threshold",
        "mean_risk",
        "observed_rate",
    )
    result = {k: metrics[k] for k in keep if k in metrics}
    result["false_positive_rate"] = metrics["confusion"]["fp"] / max(
        1, metrics["n"] - metrics["positives"]
    )
    result["n_train"] = len(train)
    return result


def _in_corridor(name: str, ad: LabelledAd) -> bool:
    return corridor(ad.destination) == name


def _in_style(style: str, ad: LabelledAd) -> bool:
    return ad.style == style


def run(ads: Sequence[LabelledAd], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    groups: list[tuple[str, Callable[[LabelledAd], bool]]] = []
    for name in HELD_OUT_CORRIDORS:
        groups.append((f"corridor:{name}", partial(_in_corridor, name)))
    for style in HELD_OUT_STYLES:
        groups.append((f"style:{style}", partial(_in_style, style)))
    for key, in_group in groups:
        results[key] = hold_out(ads, in_group, params)
        logger.info("%s: %s", key, results[key])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = run(load_corpus(), dict(DEFAULT_PARAMS))
    print("| held out | n | positives | PR-AUC | precision | recall | FP rate | trained on |")  # noqa: T201
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")  # noqa: T201
    for name, r in results.items():
        pr_auc = f"{r['pr_auc']:.3f}" if "pr_auc" in r else "–"
        print(  # noqa: T201
            f"| {name} | {r['n']} | {r['positives']} | {pr_auc} | {r['precision']:.3f} | "
            f"{r['recall']:.3f} | {r['false_positive_rate']:.3f} | {r['n_train']} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
