"""One choice's grammar, applied as llguidance token masks on the logits before sampling."""

from __future__ import annotations

from typing import Any

import numpy as np


class Constraint:
    def __init__(self, tokenizer: Any, grammar: str) -> None:
        import llguidance
        import llguidance.numpy as masks

        self._masks = masks
        self._matcher = llguidance.LLMatcher(tokenizer, grammar)
        self._mask = masks.allocate_token_bitmask(1, tokenizer.vocab_size)

    def restrict(self, logits: Any) -> None:
        """Forbid, in place, every token the grammar does not allow next."""
        self._masks.fill_next_token_bitmask(self._matcher, self._mask, 0)
        self._masks.apply_token_bitmask_inplace(logits[np.newaxis, :], self._mask)

    def accept(self, token: int) -> None:
        self._matcher.consume_token(token)

    @property
    def complete(self) -> bool:
        """The grammar allows nothing more: generation is over."""
        return bool(self._matcher.is_stopped())
