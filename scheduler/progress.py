"""Progress of a running crawl on stderr, and the summary printed when it ends."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, TextIO

from scheduler.launcher import RunResult

_LABELS = (
    ("pages_fetched", "pages"),
    ("articles_new", "new"),
    ("articles_updated", "updated"),
    ("pages_rejected", "rejected"),
    ("http_errors", "HTTP errors"),
    ("errors", "errors"),
)

# Scrapy reads a missing robots.txt as "no rules": normal for many sites, not an HTTP error.
_ROBOTS_MEANING = {404: " (none: every page may be fetched)"}


def describe_counts(counts: dict[str, int]) -> str:
    """The counts a user watches, as one phrase: `pages 33, new 16, …`."""
    return ", ".join(f"{label} {counts.get(key, 0)}" for key, label in _LABELS)


class ProgressPrinter:
    """One line rewritten in place on a terminal; a line every few seconds in a log file."""

    def __init__(self, out: TextIO, every: float = 5.0):
        self.out = out
        self.every = every
        self.interactive = out.isatty()
        self.last_line = ""
        self.last_printed = ""
        self.last_time = 0.0

    def update(self, site: str, counts: dict[str, int]) -> None:
        """Show the latest counts of `site`'s crawl."""
        line = f"crawling {site}: {describe_counts(counts)}"
        if line == self.last_line:
            return
        self.last_line = line
        if self.interactive:
            self.out.write("\r\033[K" + line)
            self.out.flush()
        elif time.monotonic() - self.last_time >= self.every:
            self._print(line)

    def close(self) -> None:
        """End the progress display, making sure the last counts were shown."""
        if self.interactive and self.last_line:
            self.out.write("\n")
        elif self.last_line != self.last_printed:
            self._print(self.last_line)
        self.out.flush()

    def _print(self, line: str) -> None:
        self.last_time = time.monotonic()
        self.last_printed = line
        self.out.write(line + "\n")
        self.out.flush()


def print_summary(
    view: dict[str, Any], result: RunResult, seconds: float, home: Path, out: TextIO
) -> None:
    """The end-of-crawl summary: status, counts, field coverage, warnings, pages that answered
    errors or could not be catalogued, where things are."""
    channels = ", ".join(view.get("channels") or [])
    out.write(f"run {view['id']} {view['status']} in {seconds:.1f} s: {channels}\n")
    out.write(f"  {describe_counts(view.get('counts') or result.counts)}\n")
    if result.error:
        out.write(f"  why: {result.error}\n")
    if result.http_errors:
        out.write("  pages that answered an HTTP error (archived, not catalogued):\n")
        for page in result.http_errors:
            out.write(f"    {page['status']} {page['url']}\n")
    _print_walks(view.get("walk") or {}, out)
    _print_lifecycle(view.get("lifecycle") or {}, out)
    if view.get("failed_pages"):
        out.write("  pages that could not be fetched (not archived):\n")
        for page in view["failed_pages"]:
            out.write(f"    {page['url']} {page['why']}\n")
    waits = view.get("retry_after") or {}
    if waits.get("waits"):
        capped = f" ({waits['capped']} cut to CPPCC_RETRY_AFTER_MAX)" if waits["capped"] else ""
        out.write(
            f"  servers asked to wait (Retry-After) {waits['waits']} time(s): "
            f"{waits['seconds']} s in all{capped}\n"
        )
    _print_coverage(view.get("coverage") or {}, out)
    warc = view.get("warc") or {}
    if warc.get("records"):
        out.write(
            f"  archived: {warc['records']} WARC records ({warc['revisits']} revisits), "
            f"{warc['bytes']:,} bytes\n"
        )
    for site, status in result.robots_txt.items():
        if status is not None and status != 200:
            out.write(
                f"  robots.txt of {site} answered {status}{_ROBOTS_MEANING.get(status, '')}\n"
            )
    out.write(f"  WARC files: {home / 'warc'}\n")
    for log in result.log_paths:
        out.write(f"  log: {log}\n")


def _print_walks(walks: dict[str, Any], out: TextIO) -> None:
    """Per channel, a list page the walk could not read, and a backlog not walked to its end."""
    for ref, walk in walks.items():
        if walk.get("failure"):
            out.write(f"  {ref}: {walk['failure']}: the walk stopped there\n")
        if walk.get("state") not in (None, "complete", "not walked yet"):
            out.write(f"  {ref}: list pages {walk['state']}; the next crawl goes on from there\n")


def _print_lifecycle(lifecycle: dict[str, Any], out: TextIO) -> None:
    """Per channel, the articles its re-checks found withdrawn or restored; and a warning for
    withdrawals the outage guard held back."""
    for ref, found in lifecycle.items():
        named = ("withdrawn", "restored", "still_withdrawn")
        parts = [f"{found[name]} {name.replace('_', ' ')}" for name in named if found.get(name)]
        if parts:
            rechecked = found.get("rechecked", 0)
            out.write(f"  {ref}: articles {', '.join(parts)} (of {rechecked} live re-checked)\n")
        if found.get("held_back"):
            out.write(f"  warning: {ref}: {found.get('held_back_why')}\n")


def _print_coverage(coverage: dict[str, Any], out: TextIO) -> None:
    """Per channel the fields not found or found by fallback; warnings; rejected pages."""
    for ref, channel in (coverage.get("channels") or {}).items():
        parts = [f"{channel['articles']} articles"]
        if channel["missing"]:
            parts.append(f"missing {_times(channel['missing'])}")
        if channel["fallback"]:
            parts.append(f"by fallback: {_times(channel['fallback'])}")
        if len(parts) > 1:
            out.write(f"  {ref}: {'; '.join(parts)}\n")
    if coverage.get("warnings"):
        out.write(f"  warnings: {_times(coverage['warnings'])}\n")
    if coverage.get("rejected_pages"):
        out.write("  pages that could not be catalogued as articles (archived):\n")
        for page in coverage["rejected_pages"]:
            out.write(f"    {page['reason']} {page['url']}\n")


def _times(counts: dict[str, int]) -> str:
    """`subtitle ×12, author ×3`: the most frequent first."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{name} ×{count}" for name, count in ordered)
