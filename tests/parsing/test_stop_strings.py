from openscope.parsing.stop_strings import StopMatcher


def feed_all(matcher: StopMatcher, pieces: list[str]) -> tuple[str, str | None]:
    out = []
    for piece in pieces:
        scan = matcher.feed(piece)
        out.append(scan.emit)
        if scan.stop is not None:
            return "".join(out), scan.stop
    out.append(matcher.flush())
    return "".join(out), None


def test_no_stops_passes_text_through() -> None:
    assert feed_all(StopMatcher([]), ["a", "b"]) == ("ab", None)


def test_stop_inside_one_piece_cuts_before_it() -> None:
    assert feed_all(StopMatcher(["END"]), ["hello END world"]) == ("hello ", "END")


def test_stop_split_across_pieces_never_leaks() -> None:
    matcher = StopMatcher(["<stop>"])
    assert matcher.feed("abc<st").emit == "abc"
    scan = matcher.feed("op>tail")
    assert (scan.emit, scan.stop) == ("", "<stop>")


def test_false_start_is_released() -> None:
    matcher = StopMatcher(["<stop>"])
    assert matcher.feed("a<s").emit == "a"
    assert matcher.feed("x").emit == "<sx"


def test_held_text_flushes_at_end() -> None:
    assert feed_all(StopMatcher(["World"]), ["Hello Wor"]) == ("Hello Wor", None)


def test_earliest_of_several_stops_wins() -> None:
    assert feed_all(StopMatcher(["b", "a"]), ["xxabxx"]) == ("xx", "a")


def test_character_by_character() -> None:
    text = "one two three"
    assert feed_all(StopMatcher(["two"]), list(text)) == ("one ", "two")
