"""What each part of the red-flag mechanism adds, measured: the same training data, one part at a
time, scored on the real test split and the hand-written held-out split.

Variants (``classifiers.stacked``): the old design (indicator columns inside the text model, where
their learned weight may be negative), the text model alone, plus the monotone scorecard, plus the
two-strong-flags floor (the shipped model). The shipped default before this work is scored too.

Two extra measures show what "no style word cancels a red flag" means on data:

- *style attack*: every illegal text (real test and hand-written test) that is risky gets the words
  of a warning article appended (``STYLE_WORDS``); how many stop being risky?
- *flags ignored*: real illegal offers with at least one strong red flag that are still not risky.

    .venv/bin/python -m classifiers.ablation [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from classifiers.datasets import load_corpus, load_real_corpus
from classifiers.real_eval import Scored, proportion, run, score_ads
from classifiers.registry import find_model, load_model
from classifiers.scoring import RiskModel
from classifiers.train import train_and_save

# Writing styles appended to illegal texts, none of them a red flag or an official cue: a
# reporter's warning words (the old ``warning_context`` cue), a formal job board's register (the
# "admin judol" scam on JobStreet read like this), and ad-chat register with emoji.
STYLES = {
    "warning words": "Waspada modus penipuan, kata polisi. Korban TPPO dipulangkan; tersangka "
    "ditangkap Polda.",
    "job-board register": "Kualifikasi:\n- Pendidikan minimal SMA/SMK\n- Mampu mengoperasikan "
    "Microsoft Office\n- Teliti, jujur dan bertanggung jawab\nTunjangan:\nUang makan, uang "
    "transport, THR\nWaktu Bekerja:\nSenin - Jumat, 08.00 - 17.00",
    "chat register": "🔥🔥 Buruan kak, slot terbatas!! 🙏 Minat langsung komen ya 👇👇",
}
VARIANTS: dict[str, dict[str, Any]] = {
    "old design (flags inside the text model)": {
        "flags_in_text": True,
        "card": False,
        "floor": False,
    },
    "text model only": {"card": False, "floor": False},
    "text + monotone scorecard": {"floor": False},
    "text + scorecard + two-strong-flags floor (shipped)": {},
}
BEFORE = "seed-2026.12.1"


def style_attack(model: RiskModel, rows: list[Scored]) -> dict[str, Any]:
    """Risky illegal texts that stop being risky when a style's words are appended (any style)."""
    risky = [r for r in rows if r.ad.label == 1 and r.risky]
    lost: set[str] = set()
    per_style = {}
    for style, words in STYLES.items():
        attacked = model.score([f"{r.ad.model_text}\n{words}" for r in risky])
        gone = {r.ad.id for r, s in zip(risky, attacked, strict=True) if not s.risky}
        per_style[style] = len(gone)
        lost |= gone
    return {
        **proportion(risky, lambda r: r.ad.id in lost),
        "per_style": per_style,
        "examples": sorted(lost)[:5],
    }


def flags_ignored(rows: list[Scored]) -> dict[str, Any]:
    from classifiers.train import strong_flag_counts

    illegal = [r for r in rows if r.ad.label == 1 and r.risk is not None]
    strong = strong_flag_counts([r.ad.model_text for r in illegal])
    with_flag = [r for r, n in zip(illegal, strong, strict=True) if n >= 1]
    return proportion(with_flag, lambda r: not r.risky)


def measure(model: RiskModel) -> dict[str, Any]:
    result = run(model, "test")
    real = [a for a in load_real_corpus() if a.split == "test"]
    seed = [a for a in load_corpus() if a.split == "test"]
    real_rows, seed_rows = score_ads(model, real), score_ads(model, seed)
    return {
        "real": result["real"],
        "seed_test": result["seed_test"],
        "style_attack_real": style_attack(model, real_rows),
        "style_attack_seed": style_attack(model, seed_rows),
        "flags_ignored_real": flags_ignored(real_rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the results as JSON")
    parser.add_argument("--keep", help="keep the trained variants in this directory (reused)")
    args = parser.parse_args()
    ads = [*load_corpus(), *load_real_corpus()]
    results: dict[str, Any] = {}
    results[f"before: {BEFORE} (seed only)"] = measure(RiskModel(load_model(find_model(BEFORE))))
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep or tmp)
        for i, (name, params) in enumerate(VARIANTS.items()):
            path = base / f"variant-{i}"
            if not path.is_dir():
                train_and_save(ads, base, params=params, version=f"variant-{i}")
            results[name] = measure(RiskModel.load(path))
    header = (
        "| variant | real illegal risky | real domestic flagged | real legal overseas flagged | "
        "real warnings/news flagged | seed PR-AUC (flag score) | seed legal flagged | "
        "style words cancel (real / seed) | strong flag fired, not risky (real) |"
    )
    print(header)  # noqa: T201
    print("|" + " --- |" * 9)  # noqa: T201
    for name, r in results.items():
        real, seed = r["real"], r["seed_test"]

        def cell(m: dict[str, Any]) -> str:
            return f"{m['k']}/{m['n']} ({m['rate']:.1%})"

        print(  # noqa: T201
            f"| {name} | {cell(real['illegal offers risky (recall)'])} | {cell(real['domestic ads flagged'])} | "
            f"{cell(real['legal overseas notices flagged'])} | {cell(real['warnings and news flagged'])} | "
            f"{seed['pr_auc_flagged_score']['value']:.3f} | {cell(seed['false_flag_rate'])} | "
            f"{cell(r['style_attack_real'])} / {cell(r['style_attack_seed'])} | {cell(r['flags_ignored_real'])} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
