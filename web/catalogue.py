"""The catalogue as the web process reads it: sessions, and the checks the CLI makes first."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.queries import catalogued_channels, check_known_channel
from pipelines.seeds import Seeds


class Catalogue:
    """A session factory on the catalogue, and the seeds that name its sites and channels."""

    def __init__(self, sessions: sessionmaker[Session], seeds: Seeds) -> None:
        self.sessions = sessions
        self.seeds = seeds

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for one request; it only reads, so nothing is committed."""
        with self.sessions() as session:
            yield session

    def check_site_channel(self, session: Session, site: str | None, channel: str | None) -> None:
        """A UsageError for a site or channel neither the seeds nor the catalogue know (as the
        CLI's --site/--channel: a misspelt one would look like "no articles")."""
        if site is None and channel is None:
            return
        known = {(c.site, c.key) for c in self.seeds.channels()} | catalogued_channels(session)
        check_known_channel(known, site, channel, "the seeds or the catalogue")
