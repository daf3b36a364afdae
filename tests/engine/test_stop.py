from __future__ import annotations

from modelport.engine.stop import StopMatcher


def feed_all(matcher: StopMatcher, pieces: list[str]) -> str:
    return "".join(matcher.feed(piece) for piece in pieces)


def test_text_without_stop_strings_passes_straight_through() -> None:
    matcher = StopMatcher(())
    assert matcher.feed("Hello") == "Hello"
    assert not matcher.stopped


def test_stop_string_inside_one_piece_cuts_the_text_before_it() -> None:
    matcher = StopMatcher(("END",))
    assert matcher.feed("one two END three") == "one two "
    assert matcher.stopped
    assert matcher.feed("more") == ""


def test_stop_string_split_across_pieces_is_held_back_then_dropped() -> None:
    matcher = StopMatcher(("</answer>",))
    shown = [matcher.feed(p) for p in ["42 is it", "</ans", "wer> trailing"]]
    assert shown == ["42 is it", "", ""]
    assert matcher.stopped


def test_partial_match_is_released_when_it_does_not_complete() -> None:
    matcher = StopMatcher(("STOP",))
    assert matcher.feed("go ST") == "go "
    assert matcher.feed("OP") == ""  # completes it
    other = StopMatcher(("STOP",))
    assert other.feed("go ST") == "go "
    assert other.feed("AY here") == "STAY here"
    assert not other.stopped


def test_held_back_text_is_flushed_at_the_end() -> None:
    matcher = StopMatcher(("STOP",))
    assert matcher.feed("the end S") == "the end "
    assert matcher.flush() == "S"


def test_earliest_of_several_stop_strings_wins() -> None:
    matcher = StopMatcher(("b", "xa"))
    assert feed_all(matcher, ["zzx", "ab"]) == "zz"
    assert matcher.stopped


def test_empty_stop_strings_are_ignored() -> None:
    matcher = StopMatcher(("",))
    assert matcher.feed("text") == "text"
