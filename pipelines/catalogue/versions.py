"""An article's versions as a reader compares them: which fields changed, paragraphs as a diff."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, TextIO

from pipelines.catalogue.models import ArticleRecord, ArticleVersion
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


def content_of(version: ArticleVersion) -> ArticleVersion | ArticleRecord:
    """What holds the version's content fields: the version's own row once it was superseded,
    its article while it is the newest (its row keeps NULL there; see ArticleVersion)."""
    return version if version.paragraphs is not None else version.article


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
            before, after = content_of(previous), content_of(version)
            view["changed_fields"] = _changed_fields(before, after)
            view["paragraph_diff"] = paragraph_diff(before.paragraphs or [], after.paragraphs or [])
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


def _changed_fields(
    before: ArticleVersion | ArticleRecord, after: ArticleVersion | ArticleRecord
) -> list[str]:
    changed = [name for name in COMPARED_FIELDS if getattr(before, name) != getattr(after, name)]
    if list(before.paragraphs or ()) != list(after.paragraphs or ()):
        changed.append("paragraphs")
    return changed
