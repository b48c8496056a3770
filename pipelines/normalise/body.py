"""The article body as a reader sees it: paragraphs and captioned pictures, in page order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin

import lxml.html

from pipelines.normalise.article import Image
from pipelines.normalise.text import fold_text, starts_with_dashes, strip_leading_dashes
from pipelines.profiles.model import SiteProfile

# Elements that start a new line of text; everything else flows inline.
_BLOCK_TAGS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "pre"}
    | {"table", "tbody", "thead", "tr", "td", "th", "blockquote", "center", "hr"}
    | {"section", "article", "figure", "figcaption"}
)
_CENTRED_STYLE = re.compile(r"text-align\s*:\s*center", re.IGNORECASE)
_CAPTION_MAX = 120  # a caption is a line under a picture, not a paragraph
_SUBTITLE_MAX = 120
_SENTENCE_END = re.compile(r"[。！？!?]")


@dataclass
class _Line:
    """One line of the body: its raw text, its pictures, and whether it is centred."""

    parts: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    centred: bool = False
    # Per picture, the text of its caption attributes (alt, title) when the profile reads them.
    alts: list[str | None] = field(default_factory=list)

    @property
    def text(self) -> str:
        return fold_text("".join(self.parts))


def _is_centred(element: lxml.html.HtmlElement) -> bool:
    """Whether an element centres its content (style, align attribute or <center>)."""
    if element.tag == "center" or (element.get("align") or "").lower() == "center":
        return True
    return _CENTRED_STYLE.search(element.get("style") or "") is not None


class _Lines:
    """Cut the body into lines at block boundaries and <br>, as a browser lays it out."""

    def __init__(self, sources: Sequence[str] = ("src",), captions: Sequence[str] = ()) -> None:
        self.lines: list[_Line] = []
        self.current = _Line()
        self.sources = sources
        self.captions = captions

    def walk(self, element: lxml.html.HtmlElement, centred: bool) -> None:
        block = element.tag in _BLOCK_TAGS
        centred = centred or _is_centred(element)
        if block or element.tag == "br":
            self.end_line()
        if element.tag == "img":
            src = next((element.get(name) for name in self.sources if element.get(name)), None)
            self.add(None, src, centred)
            if src:
                alt = next((element.get(n) for n in self.captions if element.get(n)), None)
                self.current.alts.append(alt)
        self.add(element.text, None, centred)
        for child in element:
            if isinstance(child.tag, str):  # comments and processing instructions are not text
                self.walk(child, centred)
            self.add(child.tail, None, centred)
        if block:
            self.end_line()

    def add(self, text: str | None, image: str | None, centred: bool) -> None:
        if not (text and text.strip()) and not image:
            return
        if not self.current.parts and not self.current.images:
            self.current.centred = centred
        if text:
            self.current.parts.append(text)
        if image:
            self.current.images.append(image.strip())

    def end_line(self) -> None:
        if self.current.parts or self.current.images:
            self.lines.append(self.current)
        self.current = _Line()


def body_lines(body: lxml.html.HtmlElement, profile: SiteProfile | None = None) -> list[_Line]:
    """The body's lines in page order."""
    lines = _Lines(profile.picture_sources, profile.caption_attributes) if profile else _Lines()
    lines.walk(body, centred=False)
    lines.end_line()
    return lines.lines


def _is_boilerplate(text: str, profile: SiteProfile) -> bool:
    """Whether a line is page chrome (share box, app download, editor or keyword line)."""
    return any(pattern.fullmatch(text) for pattern in profile.boilerplate_lines)


def _is_caption(line: _Line, profile: SiteProfile) -> bool:
    """Whether a line can caption the picture above it: centred, short text, no picture; or
    a line the profile's caption patterns match (`… 新华社记者 某某 摄`)."""
    text = line.text
    credited = any(pattern.fullmatch(text) for pattern in profile.caption_lines)
    return (
        (line.centred or credited)
        and not line.images
        and 0 < len(text) <= _CAPTION_MAX
        and not _is_boilerplate(text, profile)
        and text not in profile.stop_lines
    )


def _pictures(line: _Line, caption: str | None, page_url: str) -> list[Image]:
    """The line's pictures; the caption goes to the last one, the one it is printed under; a
    picture without one gets its caption attribute's text (alt), when the profile reads it."""
    alts = line.alts + [None] * (len(line.images) - len(line.alts))
    pictures = [
        (urljoin(page_url, src), _alt_caption(alt))
        for src, alt in zip(line.images, alts, strict=True)
        if src and not src.startswith("data:")
    ]
    return [
        Image(url=url, caption=caption if i == len(pictures) - 1 and caption else alt)
        for i, (url, alt) in enumerate(pictures)
    ]


_FILE_NAME = re.compile(r"\S*\.(?:jpe?g|png|gif|bmp|webp)", re.IGNORECASE)


def _alt_caption(alt: str | None) -> str | None:
    """An alt or title text as a caption: not a file name, not too long to be one."""
    text = fold_text(alt or "")
    if not text or len(text) > _CAPTION_MAX or _FILE_NAME.fullmatch(text):
        return None
    return text


def body_items(
    body: lxml.html.HtmlElement, page_url: str, profile: SiteProfile
) -> list[str | Image]:
    """Paragraphs (folded, non-empty, no chrome) and pictures with their captions, in page order."""
    lines = body_lines(body, profile)
    items: list[str | Image] = []
    index = 0
    while index < len(lines):
        line, text = lines[index], lines[index].text
        if text in profile.stop_lines and not line.images:
            break
        if line.images:
            caption = text if len(text) <= _CAPTION_MAX else None
            following = lines[index + 1] if index + 1 < len(lines) else None
            if not text and following is not None and _is_caption(following, profile):
                caption, index = following.text, index + 1
            items += _pictures(line, caption or None, page_url)
            if text and caption is None:
                items.append(text)
        elif text and not _is_boilerplate(text, profile):
            items.append(text)
        index += 1
    return items


def _paragraph_scores(
    root: lxml.html.HtmlElement, prose_only: bool
) -> dict[lxml.html.HtmlElement, int]:
    """Each <p> parent with the length of its paragraphs' text (prose ones only, if asked)."""
    scores: dict[lxml.html.HtmlElement, int] = {}
    for paragraph in root.iter("p"):
        parent = paragraph.getparent()
        text = paragraph.text_content().strip()
        if parent is not None and (not prose_only or _SENTENCE_END.search(text)):
            scores[parent] = scores.get(parent, 0) + len(text)
    return scores


def densest_paragraph_parent(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The element whose <p> children hold the most text: the body when no selector finds it.

    Only paragraphs that end a sentence count, when there are any: a footer's address lines
    (主办:… 地址:…) outweigh a short article otherwise.
    """
    scores = _paragraph_scores(root, prose_only=True) or _paragraph_scores(root, prose_only=False)
    return max(scores, key=scores.__getitem__) if scores else None


def split_subtitle(items: list[str | Image]) -> tuple[str | None, list[str | Image]]:
    """Take a first body paragraph opening with —— as the subtitle."""
    for index, item in enumerate(items):
        if isinstance(item, str):
            if starts_with_dashes(item) and len(item) <= _SUBTITLE_MAX:
                return strip_leading_dashes(item) or None, items[:index] + items[index + 1 :]
            break
    return None, items


def positioned(items: Sequence[str | Image]) -> tuple[tuple[str, ...], tuple[Image, ...]]:
    """Paragraphs, and pictures marked with the index of the paragraph they stand before."""
    paragraphs: list[str] = []
    images: list[Image] = []
    for item in items:
        if isinstance(item, Image):
            images.append(replace(item, position=len(paragraphs)))
        else:
            paragraphs.append(item)
    return tuple(paragraphs), tuple(images)
