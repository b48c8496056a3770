"""Downloader middlewares: Scrapy's own, adapted to machines without internet."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from http.cookiejar import Cookie

from scrapy import Request
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
from scrapy.http.cookies import CookieJar
from scrapy.utils.httpobj import urlparse_cached
from tldextract import TLDExtract


@cache
def _offline_split_domain() -> TLDExtract:
    # suffix_list_urls=() makes tldextract use the public-suffix snapshot it ships with instead
    # of downloading the list on first use, which fails (an ERROR in the log) without internet.
    return TLDExtract(suffix_list_urls=(), include_psl_private_domains=True)


def _is_public_domain(domain: str) -> bool:
    """Whether `domain` is a public suffix (com.cn, gov.cn), where no cookie may be set."""
    return not _offline_split_domain()(domain).domain


class OfflineCookiesMiddleware(CookiesMiddleware):
    """Scrapy's CookiesMiddleware with the public-suffix check made offline.

    The body of `_process_cookies` is Scrapy's (2.13–2.19); only the suffix lookup differs.
    """

    def _process_cookies(
        self, cookies: Iterable[Cookie], *, jar: CookieJar, request: Request
    ) -> None:
        for cookie in cookies:
            cookie_domain = cookie.domain.removeprefix(".")
            hostname = urlparse_cached(request).hostname
            if hostname is None:
                continue
            request_domain = hostname.lower()
            # A cookie set for a public suffix (".com.cn") is only kept for that exact host.
            if cookie_domain and _is_public_domain(cookie_domain):
                if cookie_domain != request_domain:
                    continue
                cookie.domain = request_domain
            jar.set_cookie_if_ok(cookie, request)
