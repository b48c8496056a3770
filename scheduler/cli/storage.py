"""`--storage URL`: the object store closed WARC files go to, for every command that has it.

The option puts its URL in CPPCC_STORAGE, where the configuration file's `[storage] url`
is too, so the launcher, recovery and the crawl subprocess all read the one value.
"""

from __future__ import annotations

import argparse
import os

from pipelines.errors import UsageError
from pipelines.storage.url import STORAGE_ENV, parse_storage_url


def add_storage(sub: argparse.ArgumentParser, what: str) -> None:
    """`--storage URL` on a command; `what` says what the command does with the store."""
    sub.add_argument(
        "--storage",
        type=_storage_url,
        metavar="URL",
        default=None,
        help=f"object storage as s3://BUCKET/PREFIX (or file:///FOLDER): {what} (env "
        f"{STORAGE_ENV}, [storage] url; the endpoint: CPPCC_S3_ENDPOINT; default: local only)",
    )


def apply_storage(args: argparse.Namespace) -> None:
    """Put the command's --storage, when given, where every part reads it: CPPCC_STORAGE."""
    if getattr(args, "storage", None) is not None:
        os.environ[STORAGE_ENV] = args.storage


def _storage_url(text: str) -> str:
    try:
        parse_storage_url(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()
