"""The catalogue's tables: sites, channels, articles and their events, captures, rejections,
runs, locks, walks."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Deterministic constraint names, so the migration and the models agree on every back end.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class AwareDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime that comes back in a fixed zone on every back end.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so the value is stored as UTC
    text (fixed width, so it sorts and compares as time). Either way a value is returned
    converted to `zone`: page dates come back as `+08:00`, capture times as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def __init__(self, zone: tzinfo = UTC) -> None:
        super().__init__()
        self.zone = zone

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} given for a timezone-aware column"
            )
        if dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: stored as UTC without an offset
            value = value.replace(tzinfo=UTC)
        return value.astimezone(self.zone)


class Base(DeclarativeBase):
    """Declarative base of the catalogue's models."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: AwareDateTime(UTC),
        list[Any]: JSON(),
        dict[str, Any]: JSON(),
    }


class Site(Base):
    """A news site named in the seeds, e.g. `rmzxb`."""

    __tablename__ = "sites"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)

    channels: Mapped[list[Channel]] = relationship(
        back_populates="site_row", order_by="Channel.key", cascade="all, delete-orphan"
    )


class Channel(Base):
    """A list page of a site, e.g. `rmzxb/yw`, crawled for article links."""

    __tablename__ = "channels"

    site: Mapped[str] = mapped_column(
        String(64), ForeignKey("sites.key", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    list_url: Mapped[str] = mapped_column(Text)

    site_row: Mapped[Site] = relationship(back_populates="channels")


class ArticleContent:
    """The columns of an article's normalised content: an article's, and a version's once
    superseded (see ArticleVersion)."""

    content_id: Mapped[str | None] = mapped_column(String(128))
    section: Mapped[list[Any]] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(Text)
    subtitle: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(AwareDateTime(SHANGHAI))
    source: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    editor: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[Any]] = mapped_column(JSON)
    paragraphs: Mapped[list[Any]] = mapped_column(JSON)
    images: Mapped[list[Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(80))
    page_count: Mapped[int] = mapped_column(Integer)


class ArticleRecord(ArticleContent, Base):
    """One catalogued article, all of its pages merged; one row per canonical URL."""

    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_site_channel_published_at", "site", "channel", "published_at"),
        Index("ix_articles_site_published_at", "site", "published_at"),
        Index("ix_articles_published_at", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    site: Mapped[str] = mapped_column(String(64))
    # The seeds channel that found the article first; later findings do not change it.
    channel: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]  # when the content last changed (or was first seen)
    # Files the newest capture links to from the body (PDF, Word...), absolute URLs in page
    # order; not content (a changed link alone makes no version), so not in the versions.
    attachments: Mapped[list[Any]] = mapped_column(JSON, server_default=text("'[]'"))
    # When a re-check found the article withdrawn (404/410, a redirect to the home or a list
    # page, a "page not found" template); None while it is live. Its history: article_events.
    withdrawn_at: Mapped[datetime | None]

    captures: Mapped[list[Capture]] = relationship(
        back_populates="article",
        order_by=lambda: [Capture.page_number, Capture.fetched_at, Capture.id],
        passive_deletes=True,
    )
    versions: Mapped[list[ArticleVersion]] = relationship(
        back_populates="article", order_by=lambda: ArticleVersion.number, passive_deletes=True
    )
    events: Mapped[list[ArticleEvent]] = relationship(
        order_by=lambda: [ArticleEvent.at, ArticleEvent.id], viewonly=True
    )


class ArticleVersion(Base):
    """One state of an article's normalised content; version 1 is what was first seen.

    The article row holds the newest version's content, for fast queries, and that content is
    kept there only: while a version is the article's newest, its row keeps what a list of
    versions shows (number, time, record, hash, title) and NULL in the other content fields,
    which are filled in from the article when a newer version supersedes it. Read a version's
    content with `content_of` (pipelines/catalogue/versions.py), not from these columns.
    """

    __tablename__ = "article_versions"
    __table_args__ = (
        UniqueConstraint("article_id", "number"),
        Index("ix_article_versions_captured_at", "captured_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    captured_at: Mapped[datetime]  # fetch time of the capture that showed this content
    # WARC-Record-ID of that capture's page 1 (a response, or a revisit standing for one).
    record_id: Mapped[str | None] = mapped_column(String(128))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    # Always kept: what names the content, and what a list of versions shows.
    content_hash: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(Text)
    # Kept once superseded (NULL while this is the newest version): see the class docstring.
    # JSON NULL as SQL NULL, not the text 'null', so `paragraphs IS NULL` finds them.
    content_id: Mapped[str | None] = mapped_column(String(128))
    section: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    subtitle: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(AwareDateTime(SHANGHAI))
    source: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    editor: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    paragraphs: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    images: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    page_count: Mapped[int | None] = mapped_column(Integer)

    article: Mapped[ArticleRecord] = relationship(back_populates="versions")


ARTICLE_EVENT_KINDS = ("withdrawn", "restored")


class ArticleEvent(Base):
    """A change in an article's life a re-check found: withdrawn from the site, or restored.

    The capture that showed it is kept with it, as evidence (the 404, the redirect, the "page
    not found" page, or the article back again): where its WARC record is, what it answered.
    """

    __tablename__ = "article_events"
    __table_args__ = (Index("ix_article_events_article_id_at", "article_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # ARTICLE_EVENT_KINDS
    at: Mapped[datetime]  # when the capture showing it was fetched
    # Why it counts as withdrawn: "http-404", "http-410", "redirected to the home page",
    # "not-found template"; for a restoration, "found again".
    reason: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)  # the URL the capture was of
    status: Mapped[int | None] = mapped_column(Integer)
    record_id: Mapped[str | None] = mapped_column(String(128))
    warc_filename: Mapped[str | None] = mapped_column(Text)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))


class Run(Base):
    """One crawl: who started it, how it ended, and what it counted."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))  # "manual" | "schedule"
    status: Mapped[str] = mapped_column(String(16))  # "running" | "finished" | "failed" | …
    channels: Mapped[list[Any]] = mapped_column(JSON)  # ["site/channel", …]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # Renewed every ~30 s by the launcher while the crawl lives: a run elsewhere whose
    # heartbeat is old is presumed dead (pipelines/catalogue/locks.py).
    heartbeat_at: Mapped[datetime | None]
    # Seconds without a heartbeat after which the run may be taken for dead; None: the fixed
    # STALE_AFTER (locks.py). Queue workers beat faster and promise a shorter lease.
    lease_seconds: Mapped[float | None] = mapped_column(Float)
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    finish_reason: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    articles_new: Mapped[int] = mapped_column(Integer, default=0)
    articles_updated: Mapped[int] = mapped_column(Integer, default=0)
    articles_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    pages_rejected: Mapped[int] = mapped_column(Integer, default=0)
    http_errors: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the crawl's Scrapy stats


class RunChannel(Base):
    """One channel crawled by a run: `runs.channels` as rows, indexed by channel."""

    __tablename__ = "run_channels"
    __table_args__ = (Index("ix_run_channels_site_channel_run_id", "site", "channel", "run_id"),)

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)


class ChannelLock(Base):
    """The run crawling a channel now: at most one row, so at most one run, per channel."""

    __tablename__ = "channel_locks"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]

    @property
    def key(self) -> str:
        """The channel as "site/channel"."""
        return f"{self.site}/{self.channel}"


class ChannelWalk(Base):
    """How far back a channel's list pages have been walked: what makes a crawl resumable.

    The walk from list page 1 may stop at a page of articles it already holds only when those
    articles were settled (first seen before `settled_at`, the end of the last crawl whose walk
    from the head ended cleanly). Until the walk has once reached the channel's last list page
    (`completed_at`), each crawl also walks a bounded slice of the older pages onwards from
    `resume_url`, the deepest list page an earlier crawl reached.
    """

    __tablename__ = "channel_walks"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    settled_at: Mapped[datetime | None]
    resume_url: Mapped[str | None] = mapped_column(Text)
    resume_page: Mapped[int] = mapped_column(Integer, default=0)  # 0: none, start at page 1
    last_page: Mapped[int | None] = mapped_column(Integer)  # as the channel's pager says
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))


def split_channel_key(key: str) -> tuple[str, str]:
    """("rmzxb", "yw") for "rmzxb/yw"; ValueError for anything else."""
    site, slash, channel = key.partition("/")
    if not (site and slash and channel) or "/" in channel:
        raise ValueError(f'channel {key!r} is not a "site/channel" key, e.g. "rmzxb/yw"')
    return site, channel


RUN_COUNTS = (
    "pages_fetched",
    "articles_new",
    "articles_updated",
    "articles_unchanged",
    "pages_rejected",
    "http_errors",
    "errors",
)


class Capture(Base):
    """A WARC `response` record of one page of an article (or of a page not yet catalogued)."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    warc_filename: Mapped[str] = mapped_column(Text)
    warc_offset: Mapped[int] = mapped_column(BigInteger)
    warc_length: Mapped[int] = mapped_column(BigInteger)
    record_id: Mapped[str] = mapped_column(String(128), unique=True)
    payload_digest: Mapped[str | None] = mapped_column(String(128))
    fetched_at: Mapped[datetime]
    status: Mapped[int] = mapped_column(Integer)
    page_number: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )

    article: Mapped[ArticleRecord | None] = relationship(back_populates="captures")


class ArchivedRecord(Base):
    """A `response` or `revisit` record a crawl wrote: what the archive holds, by URL and digest.

    Every fetched page has one, articles or not: conditional requests take their validators
    from here, and a payload already archived is written as a revisit of the one found here.
    """

    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_url_fetched_at", "url", "fetched_at"),
        Index("ix_records_payload_digest", "payload_digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(128), unique=True)
    record_type: Mapped[str] = mapped_column(String(16))  # "response" | "revisit"
    url: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime]
    status: Mapped[int] = mapped_column(Integer)
    payload_digest: Mapped[str | None] = mapped_column(String(128))
    warc_filename: Mapped[str] = mapped_column(Text)
    warc_offset: Mapped[int] = mapped_column(BigInteger)
    warc_length: Mapped[int] = mapped_column(BigInteger)
    refers_to: Mapped[str | None] = mapped_column(String(128))  # a revisit's original
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )


class WarcFile(Base):
    """A closed WARC file put in the object store (`--storage`): what was sent, and whether
    the store has it.

    A row is written before the put (size and SHA-256 of the local file) and `committed_at`
    set once the store holds the object: a file is committed only then, and a revisit refers
    only to a record in a committed file. A put that failed leaves `committed_at` empty and
    says why in `error`; the next run, recovery or `verify --repair` tries again. Without
    storage no row is written: local-only archives are as before.
    """

    __tablename__ = "warc_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)  # as in captures.warc_filename
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))  # hex
    stored_url: Mapped[str] = mapped_column(Text)  # s3://bucket/prefix/NAME
    recorded_at: Mapped[datetime]
    committed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)  # why the last put failed


class Rejection(Base):
    """A page archived in the WARC files but not catalogued as an article, and why."""

    __tablename__ = "rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    site: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))  # a slug, e.g. "no-title"
    detail: Mapped[str | None] = mapped_column(Text)
    warc_filename: Mapped[str | None] = mapped_column(Text)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
    record_id: Mapped[str | None] = mapped_column(String(128))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    seen_at: Mapped[datetime]


__all__ = [
    "ARTICLE_EVENT_KINDS",
    "RUN_COUNTS",
    "SHANGHAI",
    "ArchivedRecord",
    "ArticleEvent",
    "ArticleRecord",
    "ArticleVersion",
    "AwareDateTime",
    "Base",
    "Capture",
    "Channel",
    "ChannelLock",
    "ChannelWalk",
    "Rejection",
    "Run",
    "RunChannel",
    "Site",
    "WarcFile",
    "split_channel_key",
]
