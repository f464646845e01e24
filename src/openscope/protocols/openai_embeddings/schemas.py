"""Wire models: what Model Studio's OpenAI-compatible embeddings API accepts.

Unknown fields are ignored, as Model Studio ignores parameters it does not list. Types
are checked here; what the texts may be, and the model's limits, in `decode` and the
service, with Model Studio's own messages.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: StrictStr
    # A string or an array of them; OpenAI also takes token ids (an array of integers, or
    # of arrays of them), which `decode` refuses by name rather than as a type error.
    input: StrictStr | list[Any]
    dimensions: StrictInt | None = None
    encoding_format: StrictStr | None = None  # "float" (the default) or "base64"
    # OpenAI's end-user id, for abuse monitoring; it changes nothing in the answer.
    user: StrictStr | None = None
    # DashScope's native `text_type`: "query" or "document", for models trained to read
    # the two differently (E5 is); absent, "document", as DashScope's own default.
    text_type: StrictStr | None = None
