"""A FastAPI app with only the Files and Vector Stores router, over `FakeKnowledge`, and
the official `openai` SDK pointed at it. Two keys, two workspaces."""

from __future__ import annotations

from dataclasses import dataclass

import openai
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from openscope.core.errors import AuthenticationFailed
from openscope.core.principal import Principal
from openscope.protocols.http import ProtocolContext
from openscope.protocols.openai_files import build_router
from tests.protocols.openai_files.fake_knowledge import FakeKnowledge

PREFIX = "/compatible-mode/v1"
KEY_A = "sk-workspace-a"
KEY_B = "sk-workspace-b"
WORKSPACES = {KEY_A: "ws-a", KEY_B: "ws-b"}
MAX_FILE_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024


class NotUsed:
    """Stands for the generation services, which these routes must never touch."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the files router used the generation service's {name}")


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    key = header.removeprefix("Bearer ")
    if key not in WORKSPACES:
        raise AuthenticationFailed("Incorrect API key provided.")
    principal = Principal(key_id=key, workspace=WORKSPACES[key])
    request.state.principal = principal
    return principal


@dataclass
class Harness:
    http: TestClient
    knowledge: FakeKnowledge

    def sdk(self, key: str = KEY_A, prefix: str = PREFIX) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"http://testserver{prefix}", api_key=key, http_client=self.http, max_retries=0
        )


def harness(poll_after_ms: int = 500) -> Harness:
    knowledge = FakeKnowledge()
    ctx = ProtocolContext(
        service=NotUsed(),  # type: ignore[arg-type]
        responses=NotUsed(),  # type: ignore[arg-type]
        authenticate=authenticate,
        max_body_bytes=MAX_BODY_BYTES,
        max_generation_body_bytes=MAX_BODY_BYTES,
    )
    app = FastAPI()
    app.include_router(
        build_router(
            ctx, knowledge, knowledge, max_file_bytes=MAX_FILE_BYTES, poll_after_ms=poll_after_ms
        )
    )
    return Harness(TestClient(app), knowledge)
