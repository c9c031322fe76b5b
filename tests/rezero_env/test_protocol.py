import re

from hypothesis import given
from hypothesis import strategies as st

from rezero_env.protocol import count_tag, first_answer, first_search, has_information_block, tag_contents, tag_spans

# Text built from tag fragments, so that opening/closing/nesting/unclosed tags are common.
fragments = st.sampled_from(["<search>", "</search>", "<answer>", "</answer>", "a", " ", "<", ">", "/", "search"])
tagged_text = st.lists(fragments, max_size=30).map("".join)


@given(tagged_text)
def test_tag_spans_agree_with_lazy_regex(text: str) -> None:
    for tag in ("search", "answer"):
        expected = [m.span() for m in re.finditer(rf"<{tag}>[\s\S]*?</{tag}>", text)]
        assert tag_spans(text, tag) == expected
        assert tag_contents(text, tag) == re.findall(rf"<{tag}>([\s\S]*?)</{tag}>", text)
        assert count_tag(text, tag) == len(expected)


def test_first_search_and_answer() -> None:
    text = "<think>t</think><search> q1 </search><search>q2</search><answer> A </answer>"
    assert first_search(text) == " q1 "
    assert first_answer(text) == "A"
    assert first_search("<search>unclosed") is None
    assert first_answer("no tags") is None


def test_information_block_variants() -> None:
    assert has_information_block("x <information>r</information>")
    assert has_information_block("<INFO>r</info>")
    assert has_information_block("<Info_1>r</Info_1>")
    assert not has_information_block("<information> unclosed")
    assert not has_information_block("</information> then <information>")


def test_linear_time_on_many_unclosed_tags() -> None:
    text = "<search>" * 200_000  # quadratic scanning would take minutes
    assert tag_spans(text, "search") == []
    assert first_search(text) is None
