"""Which links of a list page are its items, by the site profile's list rules."""

from __future__ import annotations

from scrapy.http import Response

from pipelines.normalise import SiteProfile


def list_links(response: Response, profile: SiteProfile) -> tuple[list[str], str]:
    """The hrefs of the page's list items and the rule that found them: `box`, `script` or
    `page`.

    Tried in order; the first whose markup is on the page gives the list, even an empty one:
    navigation and top news around a list link articles of other channels, so the page's
    other links count only when the list itself cannot be found.
    """
    for css in profile.list_box:
        box = response.css(css)
        if box:
            return box.css(f"{profile.list_box_links}::attr(href)").getall(), "box"
    if profile.list_script_items is not None:
        scripts = "\n".join(response.xpath("//script/text()").getall())
        matches = list(profile.list_script_items.finditer(scripts))
        marker = profile.list_script_marker
        if matches or (marker and marker in scripts):
            return [match["url"] for match in matches], "script"
    return response.css("a::attr(href)").getall(), "page"
