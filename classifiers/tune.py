"""Choose the model's hyper-parameters on out-of-fold predictions over the train split only.

    .venv/bin/python -m classifiers.tune [1|2|3|4]    (one stage, or stages 1-3)

Prints each candidate's out-of-fold PR-AUC, precision at recall >= 0.95 and Brier score, best
first. ``classifiers.model.DEFAULT_PARAMS`` records the winner of the last run (see
docs/classifier.md). The held-out test split is never read.
"""

from __future__ import annotations

import itertools
import logging
import sys
from typing import Any

from classifiers.datasets import load_corpus
from classifiers.evaluate import corridor
from classifiers.train import select_params

# Stage 1: a coarse grid; stage 2 refines around its winner (C kept rising).
STAGE_1: list[dict[str, Any]] = [
    {"C": c, "flag_weight": w, "char_ngrams": n}
    for c, w, n in itertools.product((1.0, 4.0, 16.0), (1.0, 3.0), ((2, 4), (3, 5)))
] + [{"C": 4.0, "flag_weight": 3.0, "calibration": "isotonic"}]
STAGE_2: list[dict[str, Any]] = [
    {"C": c, "flag_weight": w} for c, w in itertools.product((16.0, 32.0, 64.0, 128.0), (0.5, 1.0))
] + [{"C": 32.0, "calibration": "isotonic"}, {"C": 32.0, "min_df": 1}]
# Stage 3: lower indicator weights (stage 2 preferred 0.5 to 1), and none at all as an ablation.
STAGE_3: list[dict[str, Any]] = [{"C": 64.0, "flag_weight": w} for w in (0.25, 0.0)]
GRID = STAGE_1 + STAGE_2 + STAGE_3
# Stage 4: stage 3 found the indicators add nothing on random folds (they restate words the TF-IDF
# already sees). Do they help on corridors never seen in training? Folds = destination corridors.
STAGE_4: list[dict[str, Any]] = [
    {"C": c, "flag_weight": w} for c in (16.0, 64.0) for w in (0.0, 0.25, 0.5, 1.0)
]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stage = sys.argv[1] if len(sys.argv) > 1 else "all"
    if stage == "4":
        results = select_params(
            load_corpus(), STAGE_4, group_by=lambda ad: corridor(ad.destination)
        )
    else:
        stages: dict[str, list[dict[str, Any]]] = {"1": STAGE_1, "2": STAGE_2, "3": STAGE_3}
        results = select_params(load_corpus(), stages.get(stage, GRID))
    for result in results:
        print(  # noqa: T201
            f"{result['pr_auc']:.4f}  P@R95 {result['precision_at_recall']:.4f}  "
            f"Brier {result['brier']:.4f}  {result['params']}"
        )


if __name__ == "__main__":
    main()
