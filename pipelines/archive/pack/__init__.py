"""Packing small closed WARC files into large ones, catalogue and CDXJ moved with them."""

from pipelines.archive.pack.packing import LOCK_NAME, WarcPackError, pack_warc_files
from pipelines.archive.pack.report import PackReport

__all__ = ["LOCK_NAME", "PackReport", "WarcPackError", "pack_warc_files"]
