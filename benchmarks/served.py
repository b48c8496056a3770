"""A generated channel served on loopback, shared by the benchmarks that crawl it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.channel import GeneratedChannel, generate_channel
from benchmarks.static_server import serve


@dataclass(frozen=True)
class ServedChannel:
    """A channel, the URL it is served at, and a scratch folder for crawl homes."""

    channel: GeneratedChannel
    base_url: str
    scratch: Path

    def new_home(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.scratch))


@contextmanager
def served_channel(articles: int) -> Iterator[ServedChannel]:
    """Generate a channel of `articles` articles in a temporary folder and serve it."""
    with tempfile.TemporaryDirectory(prefix="cppcc-bench-") as folder:
        scratch = Path(folder)
        channel = generate_channel(scratch / "site", articles)
        with serve(channel.root) as base_url:
            yield ServedChannel(channel, base_url, scratch)
