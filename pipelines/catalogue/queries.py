"""Read the catalogue: articles by site, channel and date; one article; crawl runs; locks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, func, select
from sqlalchemy.orm import Session, load_only, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from pipelines.catalogue.conflicts import dialect_of
from pipelines.catalogue.counts import COUNT_CAP, MatchCount, count_up_to
from pipelines.catalogue.engine import json_text
from pipelines.catalogue.models import (
    SHANGHAI,
    ArticleRecord,
    ArticleVersion,
    Channel,
    ChannelLock,
    Rejection,
    Run,
    RunChannel,
    split_channel_key,
)
from pipelines.errors import UsageError

# What a line of an article list shows (views.article_summary). Loading only these leaves the
# bodies, pictures and keywords unread: on PostgreSQL a body is kept out of line (TOAST), one
# more page to read from disk for each of the 50 articles a list shows.
# Asia/Shanghai has been UTC+8 all year since its last daylight-saving summer ended (1991-09):
# from then on a stored UTC time is put in its Shanghai month by SQLite's own shift.
FIXED_OFFSET_SINCE = datetime(1991, 9, 15, tzinfo=UTC)
SHANGHAI_FIXED = "+8 hours"
SUMMARY_COLUMNS = (
    ArticleRecord.id, ArticleRecord.url, ArticleRecord.site, ArticleRecord.channel,
    ArticleRecord.section, ArticleRecord.title, ArticleRecord.published_at, ArticleRecord.source,
    ArticleRecord.withdrawn_at,
)  # fmt: skip


def list_articles(
    session: Session,
    *,
    site: str | None = None,
    channel: str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    changed_since: date | datetime | None = None,
    section: str | None = None,
    source: str | None = None,
    editor: str | None = None,
    limit: int | None = 50,
    offset: int = 0,
    summary_only: bool = False,
) -> list[ArticleRecord]:
    """Articles newest first (by publication time, then id), filtered (see article_filters).

    `changed_since`: only articles whose content changed (a version after the first) at or
    after that time. `limit=None`: no limit; `offset`: skip that many first. `summary_only`:
    the rows hold SUMMARY_COLUMNS alone; reading any other attribute raises.
    """
    query = _articles_query(
        select(ArticleRecord),
        site=site, channel=channel, since=since, until=until, changed_since=changed_since,
        section=section, source=source, editor=editor,
    )  # fmt: skip
    query = query.order_by(ArticleRecord.published_at.desc(), ArticleRecord.id.desc())
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    if summary_only:
        query = query.options(load_only(*SUMMARY_COLUMNS, raiseload=True))
    return list(session.scalars(query))


def count_articles(
    session: Session,
    *,
    site: str | None = None,
    channel: str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    changed_since: date | datetime | None = None,
    section: str | None = None,
    source: str | None = None,
    editor: str | None = None,
    cap: int = COUNT_CAP,
) -> MatchCount:
    """How many articles list_articles would give without a limit, for the same filters,
    counted up to `cap`: a count of every article read them all (100 ms and more at a
    million), longer than the page it goes with."""
    query = _articles_query(
        select(ArticleRecord.id),
        site=site, channel=channel, since=since, until=until, changed_since=changed_since,
        section=section, source=source, editor=editor,
    )  # fmt: skip
    return count_up_to(session, query, cap)


def _articles_query(
    query: Select[Any],
    *,
    changed_since: date | datetime | None,
    **filters: Any,
) -> Select[Any]:
    query = query.where(*article_filters(**filters))
    if changed_since is not None:
        edited = select(ArticleVersion.article_id).where(ArticleVersion.number > 1)
        start = _start(changed_since)
        if start is not None:
            edited = edited.where(ArticleVersion.captured_at >= start)
        query = query.where(ArticleRecord.id.in_(edited))
    return query


def article_filters(
    *,
    site: str | None = None,
    channel: str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    section: str | None = None,
    source: str | None = None,
    editor: str | None = None,
) -> list[ColumnElement[bool]]:
    """WHERE clauses on articles; None leaves a filter out.

    `channel` is a channel key (`yw`), matched on every site unless `site` is given. Dates in
    `since` and `until` are inclusive days in Asia/Shanghai: `until=date(2022, 3, 4)` includes
    all of that day. Naive datetimes are read as Asia/Shanghai times. `section` is one name of
    the article's breadcrumb (`政协动态`); `source` and `editor` are matched whole.
    """
    found: list[ColumnElement[bool]] = []
    for column, value in (
        (ArticleRecord.site, site),
        (ArticleRecord.channel, channel),
        (ArticleRecord.source, source),
        (ArticleRecord.editor, editor),
    ):
        if value is not None:
            found.append(column == value)
    if section is not None:
        # The JSON list as stored holds the name as the engine writes it (json_text); the
        # escape character of the LIKE pattern must not be a backslash, which JSON uses.
        quoted = json_text(section)
        pattern = "%" + quoted.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        found.append(cast(ArticleRecord.section, String).like(pattern, escape="!"))
    start = _start(since) if since is not None else None
    if start is not None:
        found.append(ArticleRecord.published_at >= start)
    if isinstance(until, datetime):
        if _within_calendar(until):
            found.append(ArticleRecord.published_at <= _aware(until))
    elif until is not None and _within_calendar(until):
        end = _start(until + timedelta(days=1))
        if end is not None:
            found.append(ArticleRecord.published_at < end)
    return found


def article_months(session: Session, *, site: str, channel: str) -> list[tuple[str, int]]:
    """Each month (`2024-03`, Asia/Shanghai) a channel has articles in, newest first, with how
    many. Read from the (site, channel, published_at) index alone: a channel of 83,000
    articles at a million took 35 ms on SQLite (740 ms when counted by hour in Python)."""
    filters = article_filters(site=site, channel=channel)
    if dialect_of(session) == "postgresql":
        month = func.to_char(func.timezone("Asia/Shanghai", ArticleRecord.published_at), "YYYY-MM")
        query = select(month, func.count()).where(*filters).group_by(month)
        return sorted(((found, count) for found, count in session.execute(query)), reverse=True)
    # SQLite stores UTC text (`2024-03-31 16:05:00.000000`). Shanghai has kept UTC+8 since
    # its last daylight-saving summer (1991): from then on SQLite shifts each time itself;
    # earlier times go by their hour, each hour put in its month by zoneinfo here.
    months: Counter[str] = Counter()
    shifted = func.strftime("%Y-%m", ArticleRecord.published_at, SHANGHAI_FIXED)
    since_fixed = ArticleRecord.published_at >= FIXED_OFFSET_SINCE
    query = select(shifted, func.count()).where(*filters, since_fixed).group_by(shifted)
    for month, count in session.execute(query):
        months[month] += count
    hour = func.substr(ArticleRecord.published_at, 1, 13)
    query = select(hour, func.count()).where(*filters, ~since_fixed).group_by(hour)
    for utc_hour, count in session.execute(query):
        moment = datetime.strptime(f"{utc_hour} +0000", "%Y-%m-%d %H %z").astimezone(SHANGHAI)
        months[f"{moment:%Y-%m}"] += count
    return sorted(months.items(), reverse=True)


def find_article(session: Session, url_or_id: str) -> ArticleRecord | None:
    """The article with this id (an all-digits string) or this canonical URL, with captures
    and versions."""
    query = select(ArticleRecord).options(
        selectinload(ArticleRecord.captures), selectinload(ArticleRecord.versions)
    )
    if url_or_id.isascii() and url_or_id.isdigit():
        query = query.where(ArticleRecord.id == int(url_or_id))
    else:
        query = query.where(ArticleRecord.url == url_or_id)
    found = session.scalars(query).one_or_none()
    # Each version knows its article without a query, also once the session is closed: the
    # newest version's content is read from it (versions.content_of).
    for version in found.versions if found else ():
        set_committed_value(version, "article", found)
    return found


def list_runs(session: Session, limit: int | None = 50) -> list[Run]:
    """Crawl runs, newest first."""
    query = select(Run).order_by(Run.started_at.desc(), Run.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def get_run(session: Session, run_id: int) -> Run | None:
    """One crawl run, or None when there is no such id."""
    return session.get(Run, run_id)


def runs_by_ids(session: Session, run_ids: Iterable[int]) -> list[Run]:
    """The runs with these ids (those that exist)."""
    return list(session.scalars(select(Run).where(Run.id.in_(list(run_ids)))))


def article_ids(
    session: Session,
    *,
    site: str | None = None,
    channel: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[int]:
    """Ids of the articles matching the filters (as `article_filters` reads them), in id order."""
    filters = article_filters(site=site, channel=channel, since=since, until=until)
    return list(
        session.scalars(select(ArticleRecord.id).where(*filters).order_by(ArticleRecord.id))
    )


def with_captures(session: Session, rows: Sequence[ArticleRecord]) -> None:
    """Load the captures of `rows` (already in `session`) in one query."""
    query = select(ArticleRecord).where(ArticleRecord.id.in_([row.id for row in rows]))
    session.scalars(query.options(selectinload(ArticleRecord.captures))).all()


def catalogued_channels(session: Session) -> set[tuple[str, str]]:
    """Every (site, channel) the catalogue knows, seeded now or once."""
    return {(site, key) for site, key in session.execute(select(Channel.site, Channel.key))}


def check_known_channel(
    known: set[tuple[str, str]], site: str | None, channel: str | None, where: str
) -> None:
    """A UsageError for a site or channel filter that no (site, channel) in `known` matches:
    a misspelt one would match no article and look like a clean "0 articles". `where` names
    what `known` came from, for the message."""
    if site is not None and all(s != site for s, _ in known):
        sites = ", ".join(sorted({s for s, _ in known}))
        raise UsageError(f"no site {site!r} in {where} (sites: {sites})")
    if channel is not None and all(
        c != channel or (site is not None and s != site) for s, c in known
    ):
        channels = ", ".join(sorted(f"{s}/{c}" for s, c in known if site in (None, s)))
        raise UsageError(f"no channel {channel!r} in {where} (channels: {channels})")


def run_rejections(session: Session, run_id: int) -> list[Rejection]:
    """The pages a run archived but could not catalogue as articles, in the order it met them."""
    query = select(Rejection).where(Rejection.run_id == run_id).order_by(Rejection.id)
    return list(session.scalars(query))


def last_runs_by_channel(session: Session, channels: Iterable[str] | None = None) -> dict[str, Run]:
    """The last run started of each channel, keyed "site/channel"; channels never run are absent.

    "Last started" is the highest run id: ids are given in the order runs start, whatever the
    clocks say. Each channel costs one look-up in the run_channels index; `channels` limits
    the answer to these keys (without it, every channel that ever ran: one index scan more).
    """
    return _last_by_channel(session, channels, select(RunChannel.run_id))


def last_finished_by_channel(
    session: Session, channels: Iterable[str] | None = None
) -> dict[str, Run]:
    """The last run of each channel that ended with status `finished`, keyed "site/channel".

    Tells whether a channel was crawled to the end recently enough; see last_runs_by_channel.
    """
    query = select(RunChannel.run_id).join(Run, Run.id == RunChannel.run_id)
    return _last_by_channel(session, channels, query.where(Run.status == "finished"))


def held_locks(session: Session) -> list[ChannelLock]:
    """The channels being crawled now, with the run, host and PID holding each, by channel."""
    query = select(ChannelLock).order_by(ChannelLock.site, ChannelLock.channel)
    return list(session.scalars(query))


def _last_by_channel(
    session: Session, channels: Iterable[str] | None, run_ids: Select[int]
) -> dict[str, Run]:
    if channels is None:
        distinct = select(RunChannel.site, RunChannel.channel).distinct()
        keys = [(site, channel) for site, channel in session.execute(distinct)]
    else:
        keys = list(dict.fromkeys(split_channel_key(channel) for channel in channels))
    latest: dict[str, int] = {}
    for site, channel in keys:
        query = run_ids.where(RunChannel.site == site, RunChannel.channel == channel)
        run_id = session.scalar(query.order_by(RunChannel.run_id.desc()).limit(1))
        if run_id is not None:
            latest[f"{site}/{channel}"] = run_id
    runs = {run.id: run for run in session.scalars(select(Run).where(Run.id.in_(latest.values())))}
    return {key: runs[run_id] for key, run_id in sorted(latest.items())}


# A day within a day of the calendar's ends bounds nothing: no article is dated there, and a
# time there has no UTC form to compare with (SQLite stores times in UTC).
_FIRST_DAY = date.min + timedelta(days=1)
_LAST_DAY = date.max - timedelta(days=1)


def day_start(moment: date | datetime, *, after: bool = False) -> datetime | None:
    """The first moment of a day in Asia/Shanghai, or of the day after it (`after`: the end
    of an inclusive `until`); a time is itself (a microsecond later with `after`); None at
    the calendar's ends, which bound nothing."""
    if after:
        moment = moment + (timedelta(microseconds=1) if isinstance(moment, datetime)
                           else timedelta(days=1))  # fmt: skip
    return _start(moment)


def _start(moment: date | datetime) -> datetime | None:
    """The first moment of a day in Asia/Shanghai (or the time itself); None at the ends."""
    if not _within_calendar(moment):
        return None
    if isinstance(moment, datetime):
        return _aware(moment)
    return datetime.combine(moment, time.min, tzinfo=SHANGHAI)


def _within_calendar(moment: date | datetime) -> bool:
    day = moment.date() if isinstance(moment, datetime) else moment
    return _FIRST_DAY < day < _LAST_DAY


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=SHANGHAI)
    return moment
