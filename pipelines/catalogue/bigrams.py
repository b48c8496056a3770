"""Chinese text as search terms: overlapping character bigrams, as Lucene's CJK analyzer makes.

A run of Han characters becomes its bigrams (河南省 → 河南 南省), so a word of any length
from two characters on is a phrase of consecutive bigrams; a lone character stays a term of
its own. Other runs of letters and digits are lower-cased words. Both SQLite FTS5 and
PostgreSQL text search index these terms, so both answer the same queries the same way.
"""

from __future__ import annotations

import re
from operator import add

# Han ideographs (with extension A and compatibility forms) are runs of their own; letters
# and digits of other scripts are words; everything else (punctuation, spaces) separates.
_HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(f"[{_HAN_CHARS}]+|[^\\W_{_HAN_CHARS}]+")
_HAN = re.compile(f"[{_HAN_CHARS}]")
# The same runs as two groups, a Han run or a word: one findall tells them apart.
_RUN_KIND = re.compile(f"([{_HAN_CHARS}]+)|([^\\W_{_HAN_CHARS}]+)")


def terms(text: str) -> list[str]:
    """The index terms of `text`, in text order (a phrase is consecutive terms).

    Indexing calls this for every field of every article: the runs are found by one regular
    expression and a Han run's bigrams made by map() over the run and itself shifted by one
    (three times as fast as slicing character by character).
    """
    found: list[str] = []
    for han, word in _RUN_KIND.findall(text):
        if word:
            found.append(word.lower())
        elif len(han) == 1:
            found.append(han)
        else:
            found += map(add, han, han[1:])
    return found


def query_phrases(query: str) -> list[list[str]]:
    """The phrases a query asks for: one per space-separated part, each a list of terms.

    `河南省政协 协商` → [[河南, 南省, 省政, 政协], [协商]]; parts without any term are dropped.
    A part with punctuation inside (`政协,委员`) is one phrase: its runs' terms in order.
    """
    phrases = [list(terms(part)) for part in query.split()]
    return [phrase for phrase in phrases if phrase]


def needles(query: str) -> list[str]:
    """The literal strings a query's parts look for, for highlighting: runs, lower-cased."""
    found: list[str] = []
    for part in query.split():
        found.extend(match.group().lower() for match in _RUN.finditer(part))
    return list(dict.fromkeys(found))


def is_lone_han(part: str) -> bool:
    """Whether a query part is a single Han character (and nothing else to search for)."""
    runs = [match.group() for match in _RUN.finditer(part)]
    return len(runs) == 1 and len(runs[0]) == 1 and bool(_HAN.match(runs[0]))
