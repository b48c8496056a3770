"""Benchmark 7: field-exact rates of the generic profile, GNE and trafilatura on the corpus."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from w3lib.encoding import html_to_unicode

from benchmarks.results import Row, Section
from pipelines.normalise import NotNormalisable, find_datetime, fold_text, normalise_page
from pipelines.profiles import bundled_profile

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"
FIELDS = ("title", "published_at", "source", "author", "editor", "paragraphs", "images")
HEADERS = [("Content-Type", "text/html")]

# What an extractor found on a page: only the fields it reports. A date is (datetime, whether
# it gave the time of day), so it is compared to the precision it gives.
Found = dict[str, Any]
Extractor = Callable[[str, bytes], Found]


@dataclass(frozen=True)
class Page:
    template: str
    url: str
    body: bytes
    expected: dict[str, Any]


def corpus_pages(folder: Path = CORPUS) -> list[Page]:
    """Every page of the corpus with its hand-written expected fields."""
    pages = []
    for path in sorted(folder.glob("*/*.json")):
        expected = json.loads(path.read_text(encoding="utf-8"))
        body = path.with_suffix(".html").read_bytes()
        pages.append(Page(path.parent.name, expected["url"], body, expected))
    return pages


def _text(body: bytes) -> str:
    """The page decoded as Scrapy decodes it (its <meta charset>), for the other extractors."""
    return html_to_unicode(None, body)[1]


def _paragraphs(text: str | None) -> list[str]:
    """Text of newline-separated paragraphs, folded as ours are, empty lines dropped."""
    return [line for line in (fold_text(part) for part in (text or "").split("\n")) if line]


def _date(text: str | None) -> tuple[datetime, bool] | None:
    found = find_datetime(fold_text(text or ""))
    return (found, ":" in (text or "")) if found else None


def ours(url: str, body: bytes) -> Found:
    try:
        article = normalise_page(url, HEADERS, body, profile=bundled_profile("generic"))
    except NotNormalisable:
        return {}
    return {
        "title": article.title,
        "published_at": (article.published_at, True),
        "source": article.source,
        "author": article.author,
        "editor": article.editor,
        "paragraphs": list(article.paragraphs),
        "images": [{"url": image.url, "caption": image.caption} for image in article.images],
    }


def gne() -> Extractor | None:
    try:
        from gne import GeneralNewsExtractor
    except ImportError:
        return None
    extractor = GeneralNewsExtractor()

    def extract(url: str, body: bytes) -> Found:
        found = extractor.extract(_text(body), host=url)
        return {
            "title": fold_text(found.get("title") or "") or None,
            "published_at": _date(found.get("publish_time")),
            "author": fold_text(found.get("author") or "") or None,
            "paragraphs": _paragraphs(found.get("content")),
            # URLs only: GNE reports no captions.
            "images": list(found.get("images") or []),
        }

    return extract


def trafilatura() -> Extractor | None:
    try:
        from trafilatura import bare_extraction
    except ImportError:
        return None

    def extract(url: str, body: bytes) -> Found:
        document = bare_extraction(_text(body), url=url, with_metadata=True, as_dict=True)
        if not isinstance(document, dict):
            return {}
        day = document.get("date")
        return {
            "title": fold_text(document.get("title") or "") or None,
            # A day only, whatever the page gives.
            "published_at": (datetime.fromisoformat(day), False) if day else None,
            "author": fold_text(document.get("author") or "") or None,
            "paragraphs": _paragraphs(document.get("text")),
        }

    return extract


_AUTHOR_LABEL = re.compile(r"^(?:作者\s*:|(?:本报)?记者)\s*")


def _lenient(found: Found, page: Page) -> Found:
    """The others' fields without what only differs from ours in form: lines that are a
    picture's caption (ours keeps captions with pictures, they print them as text), and an
    `作者:` or `记者` label before the author."""
    captions = {image["caption"] for image in page.expected["images"]}
    lenient = dict(found)
    if "paragraphs" in found:
        lenient["paragraphs"] = [line for line in found["paragraphs"] if line not in captions]
    if found.get("author"):
        lenient["author"] = _AUTHOR_LABEL.sub("", found["author"]) or None
    return lenient


def _right(field: str, found: Any, expected: Any) -> bool:
    if field == "published_at":
        if found is None:
            return False
        moment, with_time = found
        if len(expected) == len("2023-05-06") or not with_time:
            return bool(moment.date() == date.fromisoformat(expected[:10]))
        return bool(moment.replace(second=0) == datetime.fromisoformat(expected))
    if field == "images" and found and isinstance(found[0], str):
        return bool(found == [image["url"] for image in expected])
    return bool(found == expected)


def exact_rates(extract: Extractor, pages: Sequence[Page]) -> dict[str, float | None]:
    """Per field, the share of pages on which the extractor is exactly right; None for the
    fields it never reports."""
    results = [extract(page.url, page.body) for page in pages]
    if extract is not ours:
        results = [_lenient(found, page) for found, page in zip(results, pages, strict=True)]
    reported = {field for found in results for field in found}
    rates: dict[str, float | None] = {}
    for field in FIELDS:
        if field not in reported:
            rates[field] = None
            continue
        right = sum(
            _right(field, found.get(field), page.expected[field])
            for found, page in zip(results, pages, strict=True)
        )
        rates[field] = right / len(pages)
    return rates


def _cell(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def table(rates: dict[str, dict[str, float | None]]) -> str:
    """The per-field table, one column per extractor, as markdown."""
    names = list(rates)
    lines = ["| field | " + " | ".join(names) + " |", "|" + " --- |" * (len(names) + 1)]
    for field in FIELDS:
        lines.append(f"| {field} | " + " | ".join(_cell(rates[n][field]) for n in names) + " |")
    return "\n".join(lines)


def bench_extractors(folder: Path = CORPUS) -> Section:
    """Ours (the generic profile), GNE and trafilatura over the corpus, per field."""
    pages = corpus_pages(folder)
    templates = len({page.template for page in pages})
    rates = {"ours (generic profile)": exact_rates(ours, pages)}
    section = Section()
    for name, make in (("GNE", gne), ("trafilatura", trafilatura)):
        other = make()
        if other is None:
            section.notes.append(f"{name}: not installed (`pip install -e '.[bench]'`).")
            continue
        rates[name] = exact_rates(other, pages)
    mine = rates["ours (generic profile)"]
    for field in FIELDS:
        theirs = {
            name: rate[field] for name, rate in rates.items() if name != "ours (generic profile)"
        }
        best = max((rate for rate in theirs.values() if rate is not None), default=None)
        section.rows.append(
            Row(
                "7 extraction, no profile",
                f"{field} exact, {len(pages)} pages of {templates} CMS templates",
                _cell(mine[field]),
                " · ".join(f"{name} {_cell(rate)}" for name, rate in theirs.items()) or "—",
                "—",
                "beat both",
                None if best is None else (mine[field] or 0) > best or mine[field] == 1.0,
            )
        )
    section.notes.append(
        "Extraction, no profile: exact rates per field on tests/corpus (hand-written expected "
        "fields); each extractor only on the fields it reports (— where none); dates to the "
        "precision each gives (trafilatura: the day); GNE's images by URL only (it gives no "
        "captions); the others' lines that are a picture's caption are dropped from their "
        "paragraphs and an `作者:`/`记者` label from their authors (ours gets no such help).\n\n"
        + table(rates)
    )
    return section
