"""Token id -> bytes, read once from the model's vocabulary.

Decoding a token is then a list lookup on the engine thread, and every piece has its
exact length (llama-cpp-python's own helper pads pieces to a fixed buffer)."""

from __future__ import annotations

import ctypes
from typing import Any


def token_pieces(vocab: Any, n_vocab: int) -> tuple[bytes, ...]:
    from llama_cpp import llama_cpp as lib

    size = 64
    buffer = ctypes.create_string_buffer(size)
    pieces = []
    for token in range(n_vocab):
        length = lib.llama_token_to_piece(vocab, token, buffer, size, 0, False)
        if length < 0:  # the piece is longer than the buffer: grow it and ask again
            size = -length
            buffer = ctypes.create_string_buffer(size)
            length = lib.llama_token_to_piece(vocab, token, buffer, size, 0, False)
        pieces.append(buffer.raw[:length])
    return tuple(pieces)
