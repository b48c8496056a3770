"""The replica of 人民政协网: its pages in site.py, and here the start of its seeds entry (light to
import: the command line lists the replicas for `replica serve --help`)."""

# The start of a seeds file for the replica served at {base_url}, crawled as fast as loopback
# allows; its channels follow (the demo's, the tests').
SEEDS_SITE = """\
[sites.rmzxb]
name = "人民政协网 (replica)"
base_url = "{base_url}"
aliases = ["www.rmzxw.com.cn"]
download_delay = 0
autothrottle = false
"""
