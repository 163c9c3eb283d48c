"""The patrol keyword list (``crawler/keywords.yaml``, or ``PATROLI_KEYWORDS``): terms for site search."""

from __future__ import annotations

from pathlib import Path

import yaml

from patroli.config.table import PATROLI_KEYWORDS

DEFAULT_KEYWORDS = Path(__file__).parent / "keywords.yaml"


class KeywordsError(ValueError):
    """The keyword file cannot be used; the message names the file and why."""


def load_keywords(path: Path | str | None = None) -> list[str]:
    """All terms of the keyword file, in order, without duplicates."""
    path = Path(path or PATROLI_KEYWORDS.from_env() or DEFAULT_KEYWORDS)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeywordsError(f"{path}: cannot read the keyword list ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise KeywordsError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise KeywordsError(
            f"{path}: expected groups of terms, e.g. 'destinations: [kamboja, ...]'"
        )
    terms = [str(term).strip() for group in data.values() for term in group if str(term).strip()]
    return list(dict.fromkeys(terms))
