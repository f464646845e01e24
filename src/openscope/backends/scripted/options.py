"""The options of a scripted backend instance (`type = "scripted"` in settings)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ScriptedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    delay: float = Field(default=0.0, ge=0)  # seconds before each event, to pace a stream
