"""The issue-12 measures on the real corpus and the hand-written held-out split, with intervals.

Real texts (``data/real/``) and hand-written ones (``data/seed/``) are reported apart. Per real
group the measure is the one the issue names: illegal offers must be ``risky`` (any genre), domestic
ads and legal overseas notices must not be ``flagged``, warnings and news never ``flagged`` (as ads),
texts in other languages must get no risk. Proportions carry a 95 % Wilson interval; PR-AUC a
95 % bootstrap interval (1,000 resamples, seeded).

    .venv/bin/python -m classifiers.real_eval [--split test|train|all] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score

from classifiers.datasets import LabelledAd, load_corpus, load_real_corpus

Z95 = 1.959963984540054
BOOTSTRAP = 1000
BOOTSTRAP_SEED = 20261205


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion (sound at 0/n and n/n, unlike the normal one)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def pr_auc_interval(labels: Sequence[int], scores: Sequence[float]) -> tuple[float, float, float]:
    """(PR-AUC, low, high): average precision with a seeded 95 % bootstrap interval."""
    y = np.asarray(labels, dtype=int)
    p = np.asarray(scores, dtype=float)
    value = float(average_precision_score(y, p))
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    samples = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, y.size, y.size)
        if 0 < y[idx].sum() < y.size:
            samples.append(average_precision_score(y[idx], p[idx]))
    low, high = np.percentile(samples, [2.5, 97.5])
    return value, float(low), float(high)


@dataclass(slots=True)
class Scored:
    ad: LabelledAd
    risk: float | None
    risky: bool
    flagged: bool
    genre: str | None
    lang: str
    reason_codes: list[str]


def score_ads(model: Any, ads: Sequence[LabelledAd], batch: int = 256) -> list[Scored]:
    out: list[Scored] = []
    for start in range(0, len(ads), batch):
        chunk = ads[start : start + batch]
        for ad, s in zip(chunk, model.score([a.model_text for a in chunk]), strict=True):
            out.append(Scored(ad, s.risk, s.risky, s.flagged, s.genre, s.lang, s.reason_codes))
    return out


def proportion(rows: Sequence[Scored], hit: Callable[[Scored], bool]) -> dict[str, Any]:
    k = sum(1 for r in rows if hit(r))
    low, high = wilson(k, len(rows))
    return {
        "k": k,
        "n": len(rows),
        "rate": k / len(rows) if rows else None,
        "low": low,
        "high": high,
    }


# The targets on the real test split: (group, what is counted, target rate, at most?).
TARGETS = {
    "illegal offers risky (recall)": (0.80, False),
    "domestic ads flagged": (0.01, True),
    "legal overseas notices flagged": (0.05, True),
    "warnings and news flagged": (0.0, True),
    "other languages given a risk": (0.0, True),
}


def real_measures(rows: Sequence[Scored]) -> dict[str, dict[str, Any]]:
    """The issue's measures on scored real rows (of one split or all)."""
    supported = [r for r in rows if r.ad.lang in ("id", "en", "ms")]
    groups = {
        "illegal offers risky (recall)": (
            [r for r in supported if r.ad.label == 1],
            lambda r: r.risky,
        ),
        "domestic ads flagged": (
            [r for r in supported if r.ad.category == "domestic_ad"],
            lambda r: r.flagged,
        ),
        "legal overseas notices flagged": (
            [r for r in supported if r.ad.category == "legal_overseas"],
            lambda r: r.flagged,
        ),
        "warnings and news flagged": (
            [r for r in supported if r.ad.category in ("warning", "news")],
            lambda r: r.flagged,
        ),
        "other languages given a risk": (
            [r for r in rows if r.ad.lang not in ("id", "en", "ms")],
            lambda r: r.risk is not None or r.flagged,
        ),
    }
    result = {}
    for name, (members, hit) in groups.items():
        measure = proportion(members, hit)
        target, at_most = TARGETS[name]
        if measure["rate"] is not None:
            measure["target"] = target
            measure["met"] = (
                measure["rate"] <= target + 1e-12 if at_most else measure["rate"] >= target
            )
        result[name] = measure
    return result


def breakdown(rows: Sequence[Scored], key: Callable[[Scored], str]) -> dict[str, dict[str, Any]]:
    """Per group: illegal offers risky, legal offers flagged, genre read right, rows unscored."""
    by: dict[str, list[Scored]] = defaultdict(list)
    for r in rows:
        by[key(r)].append(r)
    out = {}
    for name, members in sorted(by.items()):
        illegal = [r for r in members if r.ad.label == 1 and r.risk is not None]
        legal = [r for r in members if r.ad.label == 0 and r.risk is not None]
        genre_known = [r for r in members if r.genre is not None]
        out[name] = {
            "n": len(members),
            "illegal_risky": proportion(illegal, lambda r: r.risky) if illegal else None,
            "legal_flagged": proportion(legal, lambda r: r.flagged) if legal else None,
            "genre_right": proportion(genre_known, lambda r: r.genre == r.ad.genre)
            if genre_known
            else None,
            "unscored": sum(1 for r in members if r.risk is None),
        }
    return out


def seed_measures(rows: Sequence[Scored]) -> dict[str, Any]:
    """Hand-written held-out split, on its own question: does the text recruit illegally? The
    score is the risk for ads and 0 for texts the model reads as reports or other (not ads)."""
    labels = [r.ad.label for r in rows]
    ad_risk = [(r.risk or 0.0) if r.genre in (None, "ad") else 0.0 for r in rows]
    value, low, high = pr_auc_interval(labels, ad_risk)
    offers = [r for r in rows if r.ad.risk_label >= 0]
    o_value, o_low, o_high = pr_auc_interval(
        [r.ad.label for r in offers], [r.risk or 0.0 for r in offers]
    )
    positives = [r for r in rows if r.ad.label == 1]
    negatives = [r for r in rows if r.ad.label == 0]
    return {
        "n": len(rows),
        "pr_auc_flagged_score": {"value": value, "low": low, "high": high},
        "pr_auc_risk_offers_only": {
            "value": o_value,
            "low": o_low,
            "high": o_high,
            "n": len(offers),
        },
        "recall_flagged": proportion(positives, lambda r: r.flagged),
        "false_flag_rate": proportion(negatives, lambda r: r.flagged),
        "reports_flagged": proportion(
            [r for r in rows if r.ad.genre == "report"], lambda r: r.flagged
        ),
    }


def review_load(
    recall: float, false_positive_rate: float, prevalence: float, per: int = 10_000
) -> float:
    """Ads an analyst sees per ``per`` crawled ads: the caught illegal ones plus false flags."""
    return per * (prevalence * recall + (1 - prevalence) * false_positive_rate)


def run(model: Any, split: str = "test") -> dict[str, Any]:
    real = [a for a in load_real_corpus(all_languages=True) if split == "all" or a.split == split]
    seed = [a for a in load_corpus() if a.split == "test"]
    real_rows = score_ads(model, real)
    seed_rows = score_ads(model, seed)
    measures = real_measures(real_rows)
    legal = [r for r in real_rows if r.ad.label == 0 and r.risk is not None]
    fpr = proportion(legal, lambda r: r.flagged)
    recall = measures["illegal offers risky (recall)"]["rate"] or 0.0
    prevalence = getattr(model, "prevalence", None) or 0.03
    return {
        "model": model.version,
        "threshold": model.threshold,
        "prevalence": prevalence,
        "split": split,
        "real": measures,
        "real_by_genre": breakdown(real_rows, lambda r: r.ad.genre),
        "real_by_language": breakdown(real_rows, lambda r: r.ad.lang),
        "real_by_kind": breakdown(real_rows, lambda r: r.ad.category),
        "seed_test": seed_measures(seed_rows),
        "legal_flag_rate_real": fpr,
        "review_load_per_10000": {
            "value": review_load(recall, fpr["rate"] or 0.0, prevalence),
            "low": review_load(recall, fpr["low"], prevalence),
            "high": review_load(recall, fpr["high"], prevalence),
        },
        "failures": failures(real_rows),
    }


def failures(rows: Sequence[Scored], limit: int = 12) -> list[dict[str, Any]]:
    """The real rows the model gets wrong: illegal offers not risky, legal ones flagged."""
    wrong = [
        r
        for r in rows
        if r.risk is not None
        and ((r.ad.label == 1 and not r.risky) or (r.ad.label == 0 and r.flagged))
    ]
    return [
        {
            "id": r.ad.id,
            "kind": r.ad.category,
            "lang": r.ad.lang,
            "genre": r.genre,
            "risk": round(r.risk or 0.0, 4),
            "text": r.ad.text[:220],
            "reasons": r.reason_codes,
        }
        for r in wrong[:limit]
    ]


def _fmt(m: dict[str, Any] | None) -> str:
    if not m or m.get("rate") is None:
        return "–"
    return f"{m['k']}/{m['n']} = {m['rate']:.1%} (CI {m['low']:.1%}–{m['high']:.1%})"


def report_markdown(result: dict[str, Any]) -> str:
    lines = [
        (
            f"# Model {result['model']} on the real corpus ({result['split']} split) and the "
            "hand-written held-out split"
        ),
        "",
        (
            f"Threshold {result['threshold']:.4f} on the risk scale at an expected prevalence of "
            f"{result['prevalence']:.1%}. 95 % Wilson intervals; PR-AUC with a bootstrap interval."
        ),
        "",
        "## Real texts: the issue's targets",
        "",
        "| measure | result | target | met |",
        "| --- | --- | --- | --- |",
    ]
    for name, m in result["real"].items():
        target, at_most = TARGETS[name]
        bound = ("≤ " if at_most else "≥ ") + f"{target:.0%}"
        lines.append(f"| {name} | {_fmt(m)} | {bound} | {'yes' if m.get('met') else 'NO'} |")
    load = result["review_load_per_10000"]
    lines += [
        "",
        (
            f"Expected review load per 10,000 crawled ads at {result['prevalence']:.1%} prevalence: "
            f"{load['value']:.0f} (CI {load['low']:.0f}–{load['high']:.0f}), from the recall above and "
            f"the flag rate on legal real texts {_fmt(result['legal_flag_rate_real'])}."
        ),
    ]
    for title, key in (
        ("genre", "real_by_genre"),
        ("language", "real_by_language"),
        ("kind", "real_by_kind"),
    ):
        lines += [
            "",
            f"## Real texts by {title}",
            "",
            "| group | n | illegal offers risky | legal offers flagged | genre read right | unscored |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, g in result[key].items():
            lines.append(
                f"| {name} | {g['n']} | {_fmt(g['illegal_risky'])} | {_fmt(g['legal_flagged'])} | "
                f"{_fmt(g['genre_right'])} | {g['unscored']} |"
            )
    seed = result["seed_test"]
    pa, po = seed["pr_auc_flagged_score"], seed["pr_auc_risk_offers_only"]
    lines += [
        "",
        "## Hand-written held-out split (seed test)",
        "",
        (
            f"- PR-AUC of the flag score (risk of texts read as ads, 0 for reports): {pa['value']:.3f} "
            f"(CI {pa['low']:.3f}–{pa['high']:.3f}), n {seed['n']}"
        ),
        (
            f"- PR-AUC of the risk on texts that describe an offer: {po['value']:.3f} "
            f"(CI {po['low']:.3f}–{po['high']:.3f}), n {po['n']}"
        ),
        f"- illegal ads flagged: {_fmt(seed['recall_flagged'])}",
        f"- legal texts flagged: {_fmt(seed['false_flag_rate'])}",
        f"- warning articles and news flagged: {_fmt(seed['reports_flagged'])}",
        "",
        "## Where the model still fails (real texts)",
        "",
    ]
    for f in result["failures"]:
        lines.append(
            f"- `{f['id']}` ({f['kind']}, {f['lang']}, read as {f['genre']}, risk "
            f"{f['risk']}): {f['text']!r} — {', '.join(f['reasons'][:4])}"
        )
    return "\n".join(lines) + "\n"


def plot_calibration(model: Any, path: Path) -> Path:
    """Reliability diagram of held-out offers, hand-written and real drawn apart: mean risk per bin
    (at the training base rate, no prior shift) against the share that is illegal."""
    import matplotlib

    matplotlib.use("Agg")  # no display: reports are made on servers
    from matplotlib.figure import Figure

    saved, model.prevalence = getattr(model, "prevalence", None), None
    try:
        groups = {
            "hand-written (seed test)": [a for a in load_corpus() if a.split == "test"],
            "real (test split)": [a for a in load_real_corpus() if a.split == "test"],
        }
        figure = Figure(figsize=(5.5, 5), dpi=100)
        axes = figure.subplots()
        axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
        for name, ads in groups.items():
            offers = [a for a in ads if a.risk_label >= 0]
            risks = np.asarray([r.risk or 0.0 for r in score_ads(model, offers)])
            labels = np.asarray([a.risk_label for a in offers])
            bins = np.minimum((risks * 10).astype(int), 9)
            xs, ys, ns = [], [], []
            for b in range(10):
                mask = bins == b
                if mask.any():
                    xs.append(risks[mask].mean())
                    ys.append(labels[mask].mean())
                    ns.append(int(mask.sum()))
            axes.plot(xs, ys, marker="o", label=f"{name} (n {labels.size})")
        axes.set_xlabel("mean predicted risk (training base rate)")
        axes.set_ylabel("share illegal")
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        axes.set_title(f"Calibration of {model.version}")
        axes.grid(alpha=0.3)
        axes.legend(loc="upper left", fontsize=8)
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        model.prevalence = saved
    return path


def write_report(model: Any, out_dir: Path, split: str = "test") -> dict[str, Any]:
    """``report.md``, ``metrics.json`` and ``calibration.png`` in ``out_dir``; returns the result."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = run(model, split)
    png = plot_calibration(model, out_dir / "calibration.png")
    result["files"] = {
        "markdown": str(out_dir / "report.md"),
        "json": str(out_dir / "metrics.json"),
        "calibration": str(png),
    }
    markdown = report_markdown(result) + f"\n![calibration]({png.name})\n"
    (out_dir / "report.md").write_text(markdown, encoding="utf-8")
    (out_dir / "metrics.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return result


def main() -> None:
    from classifiers.scoring import RiskModel

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("test", "train", "all"), default="test")
    parser.add_argument("--model", help="model directory (default: the active model)")
    parser.add_argument("--json", help="also write the result as JSON")
    args = parser.parse_args()
    model = RiskModel.load(Path(args.model) if args.model else None)
    result = run(model, args.split)
    print(report_markdown(result))  # noqa: T201
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
