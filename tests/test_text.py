"""Text folding: full-width ASCII forms to ASCII, white space collapsed, other punctuation kept."""

from __future__ import annotations

import pytest

from pipelines.normalise.text import fold_text, split_keywords, strip_label, strip_leading_dashes


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("种下石榴树，开出团结花", "种下石榴树,开出团结花"),
        ("来源：新华社", "来源:新华社"),
        ("亚克西！（完）", "亚克西!(完)"),
        ("Ｈｅｌｌｏ　１２３", "Hello 123"),
        ("  2023年02月27日\u00a009:15\u00a0 | \u00a0来源  ", "2023年02月27日 09:15 | 来源"),
        ("line\none\r\n\ttwo", "line one two"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
    ],
)
def test_fold_text_folds_full_width_forms_and_white_space(raw: str, folded: str) -> None:
    assert fold_text(raw) == folded


def test_fold_text_keeps_chinese_punctuation() -> None:
    kept = "。、“”‘’《》·——…丨"
    assert fold_text(kept) == kept


def test_split_keywords_splits_on_spaces_and_commas() -> None:
    assert split_keywords(" 政协　河南省，工作、建设,  文化 ") == (
        "政协",
        "河南省",
        "工作",
        "建设",
        "文化",
    )
    assert split_keywords("  ") == ()


def test_strip_label_reads_ascii_and_full_width_colons() -> None:
    assert strip_label("编辑：朱建华 ", ("编辑",)) == "朱建华"
    assert strip_label("作者:董博婷 王秋韵", ("作者",)) == "董博婷 王秋韵"
    assert strip_label("责任编辑：李京", ("责任编辑", "编辑")) == "李京"
    assert strip_label("编辑部报道", ("编辑",)) is None


def test_strip_leading_dashes_drops_the_subtitle_dash() -> None:
    assert strip_leading_dashes("——河南省政协纪实") == "河南省政协纪实"
    assert strip_leading_dashes("-- 副题") == "副题"
    assert strip_leading_dashes("正文——不是副题") == "正文——不是副题"
