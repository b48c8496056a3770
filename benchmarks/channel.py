"""Generate a replica channel of N articles from the real 人民政协网 templates, as static files."""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from replicas.rmzxb.channel import (
    CHANNEL_FOLDER,
    CHANNEL_KEY,
    ROBOTS_TXT,
    article_spec,
    channel_pages,
    corpus_paragraphs,
)

__all__ = [
    "CHANNEL_FOLDER",
    "CHANNEL_KEY",
    "article_files",
    "corpus_paragraphs",
    "generate_channel",
]

# Fixed mtimes: Last-Modified, and so a recrawl's 304s, do not depend on when files were written.
_MTIME = datetime.datetime(2026, 11, 1, 8, 0, tzinfo=datetime.UTC).timestamp()


@dataclass(frozen=True)
class GeneratedChannel:
    """A channel written to `root`: its article paths (newest first) and list page count."""

    root: Path
    article_paths: tuple[str, ...]
    list_pages: int

    @property
    def pages(self) -> int:
        """Pages a crawl of the channel fetches: robots.txt, list pages, articles."""
        return 1 + self.list_pages + len(self.article_paths)


def generate_channel(root: Path, articles: int) -> GeneratedChannel:
    """Write robots.txt, the list pages and `articles` article pages under `root`."""
    list_pages = 0
    for path, html in channel_pages(articles):
        _write(root, path, html)
        list_pages += path.startswith(CHANNEL_FOLDER)
    _write(root, "/robots.txt", ROBOTS_TXT)
    paths = tuple(article_spec(index).path for index in reversed(range(articles)))
    return GeneratedChannel(root, paths, list_pages)


def article_files(channel: GeneratedChannel) -> Iterator[tuple[str, bytes]]:
    """(path, body) of each generated article page, newest first."""
    for path in channel.article_paths:
        yield path, (channel.root / path.lstrip("/")).read_bytes()


def _write(root: Path, path: str, text: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    os.utime(target, (_MTIME, _MTIME))
