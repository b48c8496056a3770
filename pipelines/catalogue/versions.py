"""An article's versions as a reader compares them: which fields changed, paragraphs as a diff."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, TextIO

from pipelines.catalogue.models import ArticleVersion
from pipelines.display import display_time

# The fields compared one by one; paragraphs get a line diff of their own.
COMPARED_FIELDS = (
    "title",
    "subtitle",
    "published_at",
    "source",
    "author",
    "editor",
    "keywords",
    "section",
    "images",
)


def versions_view(versions: Sequence[ArticleVersion]) -> list[dict[str, Any]]:
    """Each version, oldest first, with what changed since the one before it."""
    views = []
    previous: ArticleVersion | None = None
    for version in versions:
        view: dict[str, Any] = {
            "number": version.number,
            "captured_at": display_time(version.captured_at),
            "record_id": version.record_id,
            "content_hash": version.content_hash,
            "title": version.title,
            "changed_fields": [],
            "paragraph_diff": [],
        }
        if previous is not None:
            view["changed_fields"] = _changed_fields(previous, version)
            view["paragraph_diff"] = paragraph_diff(previous.paragraphs, version.paragraphs)
        views.append(view)
        previous = version
    return views


def paragraph_diff(before: Sequence[str], after: Sequence[str]) -> list[str]:
    """A unified diff of two paragraph lists, one paragraph a line, without file headers."""
    lines = difflib.unified_diff(list(before), list(after), lineterm="", n=1)
    return [line for line in lines if not line.startswith(("---", "+++"))]


def print_versions(views: Sequence[dict[str, Any]], out: TextIO) -> None:
    """The history as text: a heading per version, its changed fields and paragraph diff."""
    for view in views:
        out.write(f"version {view['number']}  {view['captured_at']}  {view['title']}\n")
        if view["changed_fields"]:
            out.write(f"  changed: {', '.join(view['changed_fields'])}\n")
        for line in view["paragraph_diff"]:
            out.write(f"  {line}\n")


def _changed_fields(before: ArticleVersion, after: ArticleVersion) -> list[str]:
    changed = [name for name in COMPARED_FIELDS if getattr(before, name) != getattr(after, name)]
    if list(before.paragraphs) != list(after.paragraphs):
        changed.append("paragraphs")
    return changed
