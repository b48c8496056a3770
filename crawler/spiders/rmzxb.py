"""人民政协网 (www.rmzxb.com.cn): list walking and link rules only."""

from __future__ import annotations

from crawler.spiders.base import ChannelSpider
from pipelines.normalise import RMZXB


class RmzxbSpider(ChannelSpider):
    """Crawl 人民政协网: `/<slug>/index.shtml` lists, `/c/YYYY-MM-DD/<id>.shtml` articles."""

    name = "rmzxb"
    profile = RMZXB
