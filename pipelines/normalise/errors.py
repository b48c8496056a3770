"""Why a fetched page could not become an article: one exception per reason."""

from __future__ import annotations

from pipelines.errors import CppccArchiveError


class NotNormalisable(CppccArchiveError):
    """A page that cannot be turned into an article; `reason` is the slug stats count it under."""

    reason = "not-normalisable"

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        self.detail = detail
        super().__init__(f"{url}: {detail}")

    def __reduce__(self) -> tuple[type[NotNormalisable], tuple[str, str]]:
        # Pickled back from the crawl's normalising process (crawler/normalising.py): rebuilt
        # from its two arguments, not from the message Exception would pickle.
        return type(self), (self.url, self.detail)


class NotAnArticleUrl(NotNormalisable):
    """The URL path does not match any article pattern of the site."""

    reason = "not-an-article-url"


class NotHtml(NotNormalisable):
    """The response is not an HTML document (an image, a PDF, a JSON answer...)."""

    reason = "not-html"


class NoTitle(NotNormalisable):
    """The page holds no article title (an error page, an empty template)."""

    reason = "no-title"


class NoDate(NotNormalisable):
    """The page holds no publication date anywhere the site profile looks."""

    reason = "no-date"


class Undecodable(NotNormalisable):
    """The body is content-encoded (gzip, deflate…) and does not decode: it reached us damaged."""

    reason = "undecodable"


class DecodedTooLarge(Undecodable):
    """The body decodes to more than a page can be: a compression bomb, not an article."""


class FutureDate(NotNormalisable):
    """The page is dated more than a day after it was fetched: a wrong year, a wrong clock."""

    reason = "future-date"
