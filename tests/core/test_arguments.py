from openscope.core.arguments import arguments_object, arguments_text, arguments_value


def test_text_is_kept_as_sent() -> None:
    assert arguments_text('{"a": 1}') == '{"a": 1}'
    assert arguments_text('{"a": ') == '{"a": '  # malformed, but what the client sent


def test_objects_are_written_as_json_text() -> None:
    assert arguments_text({"city": "Zürich"}) == '{"city": "Zürich"}'


def test_missing_or_blank_arguments_are_the_empty_object() -> None:
    assert arguments_text(None) == "{}"
    assert arguments_text("") == "{}"
    assert arguments_text("  ") == "{}"


def test_value_falls_back_to_the_text() -> None:
    assert arguments_value('{"a": [1]}') == {"a": [1]}
    assert arguments_value("[1, 2]") == [1, 2]
    assert arguments_value("  ") == {}
    assert arguments_value('{"a": ') == '{"a": '
    deep = "[" * 1500 + "]" * 1500  # past the interpreter's stack: RecursionError, not a crash
    assert arguments_value(deep) == deep


def test_object_keeps_arguments_it_cannot_read_as_an_object() -> None:
    deep = "[" * 1500 + "]" * 1500
    assert arguments_object(deep) == {"arguments": deep}
    assert arguments_object('{"a": ') == {"arguments": '{"a": '}
    assert arguments_object("[1]") == {"arguments": "[1]"}
    assert arguments_object('{"a": [1]}') == {"a": [1]}
    assert arguments_object("  ") == {}
