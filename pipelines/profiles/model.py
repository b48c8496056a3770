"""Site profiles: where each field of an article lives on one site, as data.

The profiles themselves are TOML (seeds/profiles/*.toml, or a seeds file's own): read by
pipelines/profiles/files.py into these frozen records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ArticlePath:
    """One article URL path pattern: groups `id` and optional `page`, and how page 1 is written."""

    pattern: re.Pattern[str]
    first_page_suffix: str = ""  # "" when page 1 has no `_1`, "_1" when it always has
    # What follows the id and page suffix; a pattern with an `ext` group keeps the URL's own.
    extension: str = ""
    # The number in page 2's suffix: 2 (`_2`), or 1 where pages count from 0 (TRS: `_1`).
    second_page_number: int = 2


@dataclass(frozen=True)
class SiteProfile:
    """Selectors and texts of one site; each selector tuple is tried in order, first hit wins.

    A field left empty is found by the generic fallbacks alone (pipelines/normalise/page.py).
    """

    name: str
    hosts: tuple[str, ...] = ()
    article_paths: tuple[ArticlePath, ...] = ()
    title: tuple[str, ...] = ()
    title_suffixes: tuple[str, ...] = ()
    breadcrumb: tuple[str, ...] = ()
    home_crumbs: tuple[str, ...] = ("首页",)
    date_line: tuple[str, ...] = ()
    date_metas: tuple[str, ...] = ()
    content_id_metas: tuple[str, ...] = ()
    source_metas: tuple[str, ...] = ()
    author_labels: tuple[str, ...] = ("作者",)
    source_labels: tuple[str, ...] = ("来源",)
    editor: tuple[str, ...] = ()
    editor_labels: tuple[str, ...] = ("责任编辑", "编辑")
    keywords: tuple[str, ...] = ()
    keyword_labels: tuple[str, ...] = ("关键词",)
    body: tuple[str, ...] = ()
    # The pager of a multi-page article, whose links name its other pages.
    pager: tuple[str, ...] = ()
    # Removed from the page before the body is read.
    boilerplate: tuple[str, ...] = ("script", "style", "noscript")
    # Body lines that are page chrome, matched against folded text.
    boilerplate_lines: tuple[re.Pattern[str], ...] = ()
    # A body line that starts the trailing related-links block: it and all after it are dropped.
    stop_lines: tuple[str, ...] = ()
    # Elements whose whole text is `来源：<name>` (中国政协网's `span.info > em`).
    source: tuple[str, ...] = ()
    # Links in these elements that name a file are the article's attachments.
    attachments: tuple[str, ...] = ()
    # A content id that carries its creation time: group `ms`, milliseconds since 1970.
    id_time: re.Pattern[str] | None = None
    # List pages: the list's container (when on the page, only links inside it are items, even
    # none), the item links inside it, and items a script writes (group `url`).
    list_box: tuple[str, ...] = ()
    list_box_links: str = "a"
    list_script_items: re.Pattern[str] | None = None
    # A word in the scripts that says the script list is there, even with no item.
    list_script_marker: str = ""
    # Texts of a list page's "next page" link, decorations (下一页>, 下一页 ») removed.
    next_page_texts: tuple[str, ...] = ("下一页", "下页")
    # Meta tags holding the title (`ArticleTitle` of TRS/大汉/开普云 pages), tried first.
    title_metas: tuple[str, ...] = ()
    # Meta tags holding the author, tried after every visible author line.
    author_metas: tuple[str, ...] = ()
    # Every label of the info line under the title (来源, 作者, 发布时间, 点击…): a labelled
    # value ends where the next label starts. Empty: the info line is read as `a | b:c` parts.
    info_labels: tuple[str, ...] = ()
    # Attributes naming a body picture's file, first present wins (lazy loaders: data-original).
    picture_sources: tuple[str, ...] = ("src",)
    # Attributes of a picture read as its caption when no caption line stands next to it.
    caption_attributes: tuple[str, ...] = ()
    # A line after a picture that is its caption though not centred (`… 新华社记者 某某 摄`).
    caption_lines: tuple[re.Pattern[str], ...] = ()
