"""Model commands: ``classify``, ``train`` (``--with-reviews``), ``evaluate``, ``model list|use``."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from patroli.cli.jsonlines import BadLine, read_lines
from patroli.cli.main import (
    cli,
    console,
    err_console,
    fail,
    open_store_or_fail,
    safe,
    setting_option,
    store_option,
    styled,
)
from patroli.config.table import PATROLI_MODEL_DIR, PATROLI_MODEL_PATH, PATROLI_TEXT_MAX_CHARS

CLASSIFY_BATCH = 256
TITLE_MAX_CHARS = 320  # as the crawl keeps titles (pipelines.normalize)
CLASSIFY_BATCH_CHARS = 4_000_000  # a batch of long texts is scored sooner: memory stays bounded


def _load_model(model_path: str | None):
    from classifiers.registry import ModelError
    from classifiers.scoring import RiskModel

    try:
        return RiskModel.load(Path(model_path) if model_path else None)
    except ModelError as exc:
        fail(str(exc), "`patroli model list` shows the models; `patroli train` makes a new one")


def scoring_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--model and --language, as ``classify`` and ``explain`` both take them."""
    command = click.option(
        "--language",
        type=click.Choice(["id", "en"]),
        default="id",
        show_default=True,
        help="Language of the reasons.",
    )(command)
    return setting_option(
        "--model",
        "model_path",
        setting=PATROLI_MODEL_PATH,
        help="Model directory (default: the active model).",
    )(command)


@cli.command()
@click.argument(
    "input_path", metavar="IN.jsonl", type=click.Path(exists=True, dir_okay=False, allow_dash=True)
)
@click.option(
    "-o",
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Where to write the scored lines (- for stdout).",
)
@scoring_options
@setting_option(
    "--max-chars",
    setting=PATROLI_TEXT_MAX_CHARS,
    type=click.IntRange(1),
    help="Score at most this many characters of each text, as the crawl keeps.",
)
def classify(
    input_path: str, output_path: str, model_path: str | None, language: str, max_chars: int
) -> None:
    """Score ads in a JSON Lines file.

    Each input line is an object with at least "text" (optional "title", "id"; other fields pass
    through). Each output line adds "lang" (the text's language), "genre" (ad, report or other),
    "risk" (probability 0-1 that the offer described is illegal, at the expected prevalence; null for
    a language the model does not score), "risky" (risk at the model's threshold, any genre),
    "flagged" (risky and an ad), "reasons" and "model_version"; a text longer than --max-chars is
    scored on its first characters and the line says so ("scored_chars"). The file is read line by
    line: a bad line (binary data, not UTF-8, not JSON, nested too deeply, a lone surrogate, too
    long, not an object, no "text") is reported with its number and skipped; the exit status is 1
    if any line failed.
    """
    from classifiers.datasets import model_text

    model = _load_model(model_path)
    failed = 0
    max_line = max(1 << 20, 8 * 6 * max_chars)  # a whole text JSON-escaped, with room to spare
    with contextlib.ExitStack() as files:
        source = (
            sys.stdin.buffer
            if input_path == "-"
            else files.enter_context(Path(input_path).open("rb"))
        )
        sink = (
            sys.stdout
            if output_path == "-"
            else files.enter_context(Path(output_path).open("w", encoding="utf-8"))
        )
        batch: list[dict[str, Any]] = []
        batch_chars = 0

        def flush() -> None:
            texts = [
                model_text(r.get("title"), r["text"][:max_chars], r.get("image_text"))
                for r in batch
            ]
            for record, score in zip(batch, model.score(texts, language), strict=True):
                record.update(
                    risk=None if score.risk is None else round(score.risk, 6),
                    risky=score.risky,
                    flagged=score.flagged,
                    genre=score.genre,
                    lang=score.lang,
                    reasons=score.reasons,
                    reason_codes=score.reason_codes,
                    model_version=model.version,
                )
                if len(record["text"]) > max_chars:
                    record["scored_chars"] = max_chars
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            batch.clear()

        for line in read_lines(source, max_line):
            if isinstance(line, BadLine):
                problem, number = line.reason, line.number
            else:
                number, record = line
                problem = _check_line(record)
            if problem:
                err_console.print(f"{safe(input_path)}:{number}: {problem}; skipped")
                failed += 1
                continue
            batch.append(record)
            batch_chars += len(record["text"])
            if len(batch) >= CLASSIFY_BATCH or batch_chars > CLASSIFY_BATCH_CHARS:
                flush()
                batch_chars = 0
        if batch:
            flush()
    if failed:
        err_console.print(f"{failed} line(s) failed")
        sys.exit(1)


def _check_line(record: Any) -> str:
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    if not isinstance(record.get("text"), str):
        return 'missing "text" (a string)'
    if "title" in record and record["title"] is not None and not isinstance(record["title"], str):
        return '"title" must be a string'
    if record.get("title") and len(record["title"]) > TITLE_MAX_CHARS:
        record["title"] = record["title"][:TITLE_MAX_CHARS]
    return ""


@cli.command()
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False),
    help="Corpus directory (default: the shipped seed corpus).",
)
@setting_option(
    "--models-dir",
    setting=PATROLI_MODEL_DIR,
    type=click.Path(file_okay=False),
    help="Where models are kept.",
)
@click.option("--version", "version", help="Version name (default: a timestamp).")
@click.option(
    "--activate/--no-activate",
    default=True,
    show_default=True,
    help="Make the new model the active one.",
)
@click.option(
    "--with-reviews",
    is_flag=True,
    help="Add the analysts' decisions from --store (confirmed = illegal, dismissed = not); the new "
    "model is only activated if it is not worse than the active one on the held-out split.",
)
@click.option(
    "--real/--no-real",
    default=True,
    show_default=True,
    help="Also train on the real corpus (classifiers/data/real, its train split; id/ms/en rows).",
)
@store_option
def train(
    data_dir: str | None,
    models_dir: str,
    version: str | None,
    activate: bool,
    with_reviews: bool,
    store_url: str,
    real: bool,
) -> None:
    """Train a risk model on the labelled corpus and register it with its model card."""
    from classifiers.datasets import SEED_DIR, DatasetError, load_corpus, load_real_corpus
    from classifiers.registry import set_active
    from classifiers.train import train_and_save

    directory = Path(data_dir) if data_dir else SEED_DIR
    try:
        ads = load_corpus(directory)
        if real:
            ads += load_real_corpus()
    except UnicodeDecodeError as exc:
        fail(
            f"{directory}: a file is not UTF-8 text (byte {exc.start + 1})",
            "fix the file, or pass another --data directory",
        )
        return
    except DatasetError as exc:
        fail(str(exc), "fix the line, or pass another --data directory")
        return
    if with_reviews:
        _train_with_reviews(ads, directory, Path(models_dir), version, activate, store_url)
        return
    with console.status(f"training on {len(ads)} labelled ads…"):
        source = f"{directory} + classifiers/data/real" if real else str(directory)
        result = train_and_save(ads, Path(models_dir), version=version, data_source=source)
    _print_metrics(result.card)
    console.print(f"model {result.card['version']} written to {result.path}", highlight=False)
    if activate:
        set_active(result.card["version"], Path(models_dir))
        console.print(f"model {result.card['version']} is now active", highlight=False)


def _train_with_reviews(
    ads: list[Any],
    directory: Path,
    models_dir: Path,
    version: str | None,
    activate: bool,
    store_url: str,
) -> None:
    from classifiers.registry import ModelError, load_active, set_active
    from classifiers.scoring import RiskModel
    from classifiers.train import retrain_with_reviews, reviews_as_labelled
    from patroli.storage import ReviewStore

    try:
        current = RiskModel(load_active(models_dir))
    except ModelError as exc:
        fail(
            str(exc),
            "the retrained model is compared with the active one: `patroli model use VERSION`",
        )
        return
    store: ReviewStore = open_store_or_fail(
        store_url, "pass the store with the analysts' decisions as --store"
    )
    with store:
        reviews = reviews_as_labelled(store.labelled_ads())
    if not reviews:
        fail(
            f"no reviewed ads (confirmed or dismissed) in {store_url}",
            "review ads first: `patroli review ID --decision …`",
        )
    with console.status(f"training on {len(ads)} seed ads + {len(reviews)} analyst decisions…"):
        outcome = retrain_with_reviews(
            ads,
            reviews,
            current,
            models_dir,
            version=version,
            data_source=f"{directory} + reviews from {store_url}",
        )
    table = Table(
        title="held-out test split (never used for training or tuning)", title_justify="left"
    )
    for column in ("model", "threshold", "precision", "recall", "f1", "PR-AUC"):
        table.add_column(column, justify="right" if column != "model" else "left")
    for name, m in (
        (f"before: {current.version}", outcome.before),
        (f"after: {outcome.result.card['version']}", outcome.after),
    ):
        table.add_row(
            name,
            f"{m['threshold']:.3f}",
            f"{m['precision']:.3f}",
            f"{m['recall']:.3f}",
            f"{m['f1']:.3f}",
            f"{m.get('pr_auc', float('nan')):.3f}",
        )
    console.print(table)
    console.print(
        f"{outcome.reviews_used} analyst decision(s) used, {outcome.reviews_skipped} left out "
        "(empty, repeated, or the same text as a held-out ad)",
        highlight=False,
    )
    console.print(
        f"model {outcome.result.card['version']} written to {outcome.result.path}", highlight=False
    )
    if not outcome.activated:
        console.print(
            Text.assemble(
                styled("yellow", "not activated"),
                f": the new model is worse on the held-out split "
                f"({outcome.verdict}); {current.version} stays active",
            )
        )
        return
    if activate:
        set_active(outcome.result.card["version"], models_dir)
        console.print(
            f"model {outcome.result.card['version']} is now active ({outcome.verdict})",
            highlight=False,
        )


@cli.command()
@click.option(
    "--data",
    "data_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Labelled JSON Lines (id, text, label; optional title, source, destination, style).",
)
@click.option(
    "--real",
    "real_split",
    type=click.Choice(["test", "train", "all"]),
    help="Instead of --data: the real corpus (this split) and the hand-written held-out split, "
    "per genre, language and source, with confidence intervals and a calibration plot.",
)
@setting_option(
    "--model",
    "model_path",
    setting=PATROLI_MODEL_PATH,
    help="Model directory (default: the active model).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Report directory (default: var/reports/eval-<version>-<time>).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate(
    data_path: str | None,
    real_split: str | None,
    model_path: str | None,
    out_dir: str | None,
    as_json: bool,
) -> None:
    """Evaluate a model on labelled ads: precision, recall, F1, PR-AUC, precision@k, confusion
    matrix, calibration, per-source and per-destination breakdowns; writes a PR-curve PNG and a
    Markdown and HTML report. With --real: the issue-12 measures on the real corpus."""
    from datetime import UTC, datetime

    if real_split:
        _evaluate_real(real_split, model_path, out_dir, as_json)
        return
    if not data_path:
        fail("give --data FILE.jsonl or --real test", "`patroli evaluate --help` shows both")
        return

    from classifiers.datasets import DatasetError, load_labelled
    from classifiers.evaluate import evaluate_scores, write_report

    try:
        ads = load_labelled([Path(data_path)])
    except UnicodeDecodeError as exc:
        fail(
            f"{data_path}: not UTF-8 text (byte {exc.start + 1})",
            "each line needs id, text and label (0 or 1)",
        )
        return
    except DatasetError as exc:
        fail(str(exc), "each line needs id, text and label (0 or 1)")
        return
    if not ads:
        fail(f"{data_path}: no labelled ads")
    model = _load_model(model_path)
    risks = []
    for start in range(0, len(ads), CLASSIFY_BATCH):
        risks += [
            s.risk for s in model.score([a.model_text for a in ads[start : start + CLASSIFY_BATCH]])
        ]
    labels = [a.label for a in ads]
    report = evaluate_scores(
        labels,
        risks,
        threshold=model.threshold,
        sources=[a.source or a.style for a in ads],
        destinations=[a.destination for a in ads],
        model_version=model.version,
        data=data_path,
    )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = Path(out_dir) if out_dir else Path("var/reports") / f"eval-{model.version}-{stamp}"
    write_report(report, labels, risks, target)
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False) + "\n")
        return
    m = report.metrics
    table = Table(
        title=f"model {model.version} on {data_path} (threshold {model.threshold:.3f})",
        title_justify="left",
    )
    for column in (
        "n",
        "positives",
        "precision",
        "recall",
        "F1",
        "PR-AUC",
        "P@10",
        "P@50",
        "P@100",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        str(m["n"]),
        str(m["positives"]),
        *(
            f"{m[k]:.3f}" if k in m else "–"
            for k in (
                "precision",
                "recall",
                "f1",
                "pr_auc",
                "precision_at_10",
                "precision_at_50",
                "precision_at_100",
            )
        ),
    )
    console.print(table)
    c = m["confusion"]
    console.print(
        f"confusion: TP {c['tp']}  FP {c['fp']}  FN {c['fn']}  TN {c['tn']}", highlight=False
    )
    console.print(
        f"report: {report.files['markdown']}, {report.files['html']}, {report.files['pr_curve']}",
        highlight=False,
    )


def _evaluate_real(split: str, model_path: str | None, out_dir: str | None, as_json: bool) -> None:
    from datetime import UTC, datetime

    from classifiers.real_eval import TARGETS, write_report

    model = _load_model(model_path)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = Path(out_dir) if out_dir else Path("var/reports") / f"real-{model.version}-{stamp}"
    result = write_report(model, target, split)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    table = Table(
        title=f"model {model.version} on the real corpus ({split} split)", title_justify="left"
    )
    for column in ("measure", "k / n", "rate", "95 % CI", "target", "met"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for name, m in result["real"].items():
        goal, at_most = TARGETS[name]
        table.add_row(
            name,
            f"{m['k']}/{m['n']}",
            f"{m['rate']:.1%}" if m["rate"] is not None else "–",
            f"{m['low']:.1%}–{m['high']:.1%}",
            ("≤ " if at_most else "≥ ") + f"{goal:.0%}",
            "yes" if m.get("met") else "no",
        )
    console.print(table)
    seed = result["seed_test"]["pr_auc_flagged_score"]
    console.print(
        f"hand-written held-out PR-AUC {seed['value']:.3f} (CI {seed['low']:.3f}–{seed['high']:.3f})",
        highlight=False,
    )
    console.print(
        f"report: {result['files']['markdown']}, {result['files']['calibration']}", highlight=False
    )


def _print_metrics(card: dict[str, Any]) -> None:
    table = Table(
        title=f"model {card['version']} (threshold {card['threshold']:.3f})", title_justify="left"
    )
    table.add_column("split")
    for column in ("n", "precision", "recall", "f1", "pr_auc"):
        table.add_column(column, justify="right")
    for split in ("validation", "test"):
        m = card.get("metrics", {}).get(split)
        if m:
            table.add_row(
                split,
                str(m["n"]),
                f"{m['precision']:.3f}",
                f"{m['recall']:.3f}",
                f"{m['f1']:.3f}",
                f"{m.get('pr_auc', float('nan')):.3f}",
            )
    console.print(table)


@cli.group()
def model() -> None:
    """List the registered models and choose the active one."""


@model.command("list")
@setting_option(
    "--models-dir",
    setting=PATROLI_MODEL_DIR,
    type=click.Path(file_okay=False),
    help="Where models are kept.",
)
def model_list(models_dir: str) -> None:
    """List model versions with their test metrics; * marks the active one."""
    from classifiers.registry import ModelError, active_version, model_dirs, read_card

    try:
        active = active_version(Path(models_dir))
    except ModelError:
        active = ""
    table = Table()
    for column in ("", "version", "created", "threshold", "test PR-AUC", "test recall", "path"):
        table.add_column(column)
    for path in model_dirs(Path(models_dir)):
        try:
            card = read_card(path)
        except ModelError as exc:
            table.add_row("", safe(path.name), styled("red", "unreadable"), "", "", "", safe(exc))
            continue
        test = card.get("metrics", {}).get("test", {})
        table.add_row(
            "*" if card["version"] == active else "",
            str(card["version"]),
            str(card.get("created_at", ""))[:19],
            f"{card['threshold']:.3f}",
            f"{test.get('pr_auc', float('nan')):.3f}",
            f"{test.get('recall', float('nan')):.3f}",
            str(path),
        )
    console.print(table)


@model.command("use")
@click.argument("version")
@setting_option(
    "--models-dir",
    setting=PATROLI_MODEL_DIR,
    type=click.Path(file_okay=False),
    help="Where models are kept.",
)
def model_use(version: str, models_dir: str) -> None:
    """Make VERSION the active model (it is loaded and verified first)."""
    from classifiers.registry import ModelError, set_active

    try:
        path = set_active(version, Path(models_dir))
    except ModelError as exc:
        fail(str(exc))
        return
    console.print(f"model {version} ({path}) is now active", highlight=False)


@cli.command()
@click.argument("text")
@scoring_options
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def explain(text: str, model_path: str | None, language: str, as_json: bool) -> None:
    """What moves the score of one TEXT ("-" reads it from standard input): its language and
    genre, the risk of the words and of the red-flag scorecard, the two-strong-flags rule, each
    indicator's weight and the words that pushed the risk up and down."""
    model = _load_model(model_path)
    if text == "-":
        text = sys.stdin.read()
    result = model.explain(text, language)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    if not result["supported"]:
        console.print(
            f"language {result['lang']}: not scored ({'; '.join(result['reasons'])})",
            highlight=False,
        )
        return
    console.print(
        f"model {result['model']}  language {result['lang']}  genre {result['genre']}  "
        f"risk {result['risk']:.4f} (threshold {result['threshold']:.4f})  risky {result['risky']}  "
        f"flagged {result['flagged']}",
        highlight=False,
    )
    if "genre_probabilities" in result:
        genres = ", ".join(f"{g} {p:.2f}" for g, p in result["genre_probabilities"].items())
        console.print(f"genre probabilities: {genres}", highlight=False)
        console.print(
            f"words say {result['text_model']['risk']:.4f}; red flags alone say "
            f"{result['scorecard']['risk']:.4f}; strong flags: "
            f"{', '.join(result['strong_flags']) or 'none'}"
            f"{' (two or more: at least the threshold)' if result['floor_applied'] else ''}; "
            f"decided by {result['decided_by']}",
            highlight=False,
        )
        table = Table(
            title="red flags that fired (scorecard weight, log-odds)", title_justify="left"
        )
        table.add_column("indicator")
        table.add_column("weight", justify="right")
        for code, weight in result["scorecard"]["indicators"]:
            table.add_row(code, f"{weight:+.3f}")
        console.print(table)
    words = Table(title="words (contribution to the text model's log-odds)", title_justify="left")
    words.add_column("pushes up")
    words.add_column("", justify="right")
    words.add_column("pushes down")
    words.add_column("", justify="right")
    up, down = result["text_model"]["words_up"], result["text_model"]["words_down"]
    for i in range(max(len(up), len(down))):
        words.add_row(
            up[i][0] if i < len(up) else "",
            f"{up[i][1]:+.3f}" if i < len(up) else "",
            down[i][0] if i < len(down) else "",
            f"{down[i][1]:+.3f}" if i < len(down) else "",
        )
    console.print(words)
    console.print(
        f"character n-grams together: {result['text_model']['character_ngrams_total']:+.3f}",
        highlight=False,
    )
