"""Load labelled ads (the seed corpus, review exports, evaluation files) and check their shape."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEED_DIR = Path(__file__).parent / "data" / "seed"
REAL_DIR = Path(__file__).parent / "data" / "real"
# Languages the risk model scores; rows in others (``other_languages.jsonl``) test the gate only.
MODEL_LANGUAGES = ("id", "en", "ms", "mixed", "")
# Seed categories that are not ads: their genre, and whether their label answers the risk question.
# Warning articles and news were labelled "not a recruitment post" (0) although many describe an
# illegal offer; for the risk they say nothing (-1), for the genre they are reports.
SEED_GENRES = {"warning_article": "report", "news": "report", "non_ad": "other"}
NO_OFFER = -1  # label of a text that describes no offer (genre training only)
REQUIRED = {"id": str, "text": str, "label": int}
OPTIONAL = {
    "title": str,
    "category": str,
    "destination": str,
    "style": str,
    "lang": str,
    "hard": bool,
    "note": str,
    "split": str,
    "source": str,
}


class DatasetError(ValueError):
    """A labelled file is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class LabelledAd:
    id: str
    text: str
    label: int
    title: str = ""
    category: str = ""
    destination: str = ""
    style: str = ""
    lang: str = ""
    hard: bool = False
    split: str = ""
    source: str = ""
    note: str = ""
    genre: str = "ad"  # ad, report or other
    data: str = "seed"  # seed (hand-written), real, or review

    @property
    def risk_label(self) -> int:
        """1 illegal offer, 0 legal, -1 no offer described (a seed warning or news text)."""
        if self.data == "seed" and self.category in ("warning_article", "news"):
            return NO_OFFER
        return self.label

    @property
    def model_text(self) -> str:
        return model_text(self.title, self.text)


def model_text(title: str | None, text: str | None, image_text: str | None = None) -> str:
    """The one string the model reads for an ad: title and body, as the crawl and CLI build it,
    then the text read in its images (a flyer's offer often is only there)."""
    title, text = (title or "").strip(), (text or "").strip()
    if title and not text.startswith(title):
        text = f"{title}\n{text}"
    image_text = (image_text or "").strip()
    return f"{text}\n\n{image_text}".strip() if image_text else text


def _check(record: Any, where: str) -> LabelledAd:
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for name, kind in REQUIRED.items():
        if name not in record:
            raise DatasetError(f"{where}: missing field {name!r}")
        if not isinstance(record[name], kind) or isinstance(record[name], bool) is not (
            kind is bool
        ):
            raise DatasetError(f"{where}: field {name!r} must be {kind.__name__}")
    if record["label"] not in (0, 1):
        raise DatasetError(f"{where}: label must be 0 or 1, not {record['label']!r}")
    if not record["text"].strip():
        raise DatasetError(f"{where}: text is empty")
    values: dict[str, Any] = {}
    for name, kind in OPTIONAL.items():
        value = record.get(name)
        if value is None:
            continue
        if not isinstance(value, kind):
            raise DatasetError(f"{where}: field {name!r} must be {kind.__name__}")
        values[name] = value
    genre = SEED_GENRES.get(str(values.get("category", "")), "ad")
    return LabelledAd(
        id=record["id"], text=record["text"], label=record["label"], genre=genre, **values
    )


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc


def load_labelled(paths: Iterable[Path]) -> list[LabelledAd]:
    """Read labelled JSONL files; raise ``DatasetError`` naming file and line on the first problem."""
    ads: list[LabelledAd] = []
    seen: dict[str, str] = {}
    for path in paths:
        for number, record in read_jsonl(path):
            where = f"{path}:{number}"
            ad = _check(record, where)
            if ad.id in seen:
                raise DatasetError(f"{where}: duplicate id {ad.id!r} (first at {seen[ad.id]})")
            seen[ad.id] = where
            ads.append(ad)
    return ads


def corpus_files(directory: Path = SEED_DIR) -> list[Path]:
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise DatasetError(f"{directory}: no *.jsonl files")
    return files


def load_corpus(directory: Path = SEED_DIR) -> list[LabelledAd]:
    return load_labelled(corpus_files(directory))


def data_hash(ads: Iterable[LabelledAd]) -> str:
    """A hash of what the model learns from (id, text, label, split), independent of file order."""
    digest = hashlib.sha256()
    for ad in sorted(ads, key=lambda a: a.id):
        digest.update(
            json.dumps(
                [ad.id, ad.title, ad.text, ad.label, ad.split]
                + ([ad.genre, ad.data] if ad.data != "seed" else []),
                ensure_ascii=False,
            ).encode()
        )
    return digest.hexdigest()


REAL_LABELS = {"illegal": 1, "legal": 0, "n/a": NO_OFFER}


def load_real_corpus(
    directory: Path = REAL_DIR, *, all_languages: bool = False
) -> list[LabelledAd]:
    """The real corpus (``data/real/``) as labelled ads: label from the row's ``label`` (the offer's
    legality; ``n/a`` = -1), ``genre`` as given, ``source`` = the outlet (the split's group)."""
    ads = []
    for path in sorted(directory.glob("*.jsonl")):
        for number, record in read_jsonl(path):
            where = f"{path}:{number}"
            try:
                label = REAL_LABELS[record["label"]]
                lang = str(record.get("lang", ""))
                ad = LabelledAd(
                    id=str(record["id"]),
                    text=str(record["text"]),
                    label=label,
                    category=str(record["kind"]),
                    lang=lang,
                    split=str(record["split"]),
                    source=str(record["outlet"]),
                    genre=str(record["genre"]),
                    data="real",
                    note=str(record.get("label_reason", "")),
                )
            except (KeyError, TypeError) as exc:
                raise DatasetError(f"{where}: not a real-corpus row ({exc})") from exc
            if all_languages or lang in MODEL_LANGUAGES:
                ads.append(ad)
    return ads
