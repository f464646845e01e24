"""What differs between the engines openscope forwards to: data and small functions, one
`Dialect` per engine (upstream-engines.md §1.1), not a class per engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

DialectName = Literal[
    "vllm", "sglang", "llama-server", "llama-cpp-python", "ollama", "dashscope", "openai"
]

ThinkingSwitch = Callable[[bool, int | None], dict[str, Any]]


def _template_kwargs(enabled: bool) -> dict[str, Any]:
    """Qwen3's chat template switch, as vLLM, SGLang and llama-server take it."""
    kwargs: dict[str, Any] = {"enable_thinking": enabled}
    return {"chat_template_kwargs": kwargs}


def _vllm(enabled: bool, budget: int | None) -> dict[str, Any]:
    body = _template_kwargs(enabled)
    if enabled and budget is not None:
        body["thinking_token_budget"] = budget  # needs the server's --reasoning-config
    return body


def _sglang(enabled: bool, budget: int | None) -> dict[str, Any]:
    body = _template_kwargs(enabled)
    if enabled and budget is not None:
        body["chat_template_kwargs"]["thinking_budget"] = budget
    return body


def _llama_server(enabled: bool, budget: int | None) -> dict[str, Any]:
    body = _template_kwargs(enabled)
    if enabled and budget is not None:
        body["reasoning_budget"] = budget
    return body


def _ollama(enabled: bool, budget: int | None) -> dict[str, Any]:
    # Ollama's /v1 honours only reasoning_effort (none turns thinking off).
    return {} if enabled else {"reasoning_effort": "none"}


def _dashscope(enabled: bool, budget: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"enable_thinking": enabled}
    if enabled and budget is not None:
        body["thinking_budget"] = budget
    return body


def _openai(enabled: bool, budget: int | None) -> dict[str, Any]:
    return {} if enabled else {"reasoning_effort": "minimal"}


def _no_switch(enabled: bool, budget: int | None) -> dict[str, Any]:
    # llama-cpp-python's server has no per-request thinking switch (its chat handlers
    # take no template kwargs): a model served there thinks as its template says.
    return {}


@dataclass(frozen=True, slots=True)
class Dialect:
    name: DialectName
    thinking: ThinkingSwitch
    # Where the upstream puts reasoning text on a message or delta, in the order looked for.
    reasoning_fields: tuple[str, ...] = ("reasoning_content", "reasoning")
    # Whether assistant reasoning may be sent back in history as `reasoning_content`.
    accepts_reasoning_history: bool = False
    # Whether it takes top_k beside OpenAI's sampling fields.
    top_k: bool = True
    # Whether one request may ask for several choices (n). llama-server (b1-0c1e570, the
    # tree llama-cpp-python 0.3.36 vendors) answers n but its usage counts one choice's
    # tokens, streamed or not: refused rather than metered short.
    multiple_choices: bool = True
    # Whether it honours a tool_choice that names one function. llama-server reads only
    # "auto", "none" and "required" (an object is ignored, with a warning in its log, and
    # the choice is auto): it is sent the named tool alone, required.
    named_tool_choice: bool = True
    # How tokens are counted for count_tokens: "messages" (vLLM's /tokenize takes chat
    # messages), "template" (llama-server: /apply-template then /tokenize), or None.
    tokenize: Literal["messages", "template"] | None = None
    # Stop sequences given as single token ids (`stop_token_ids`).
    stop_token_ids: bool = False
    # Whether a thinking budget can be passed at all.
    thinking_budget: bool = True
    # Whether its stream ends with usage when asked (stream_options.include_usage). One
    # that never sends it (llama-cpp-python's server) is asked for the whole answer at
    # once instead: a streaming client then gets it in one piece, with its usage, rather
    # than in pieces and with none counted.
    streamed_usage: bool = True
    # Where the engine answers liveness (beside /v1); None: no such endpoint to poll.
    health_path: str | None = "/health"
    # The gauges on its Prometheus page (`metrics_path`) whose sum is the requests it holds,
    # running and waiting; empty: it reports no load, and only openscope's own count is
    # known. All must be there for the sum to count (a part would understate the load).
    load_gauges: tuple[str, ...] = ()
    metrics_path: str = "/metrics"
    # Model Studio's own parameters pass through unchanged (enable_search, cache_control, ...).
    model_studio: bool = False
    # It refuses a system message after the first turn ("System message must be at the
    # beginning."): the system messages are merged into one, first.
    system_first: bool = True
    # How it is asked to read images at high resolution (chat's vl_high_resolution_images),
    # or None: it cannot be, and such a request with images is refused.
    high_resolution_images: Mapping[str, Any] | None = None
    # How it takes an image given by an http(s) URL: "remote", it fetches the URL itself;
    # "inline", it reads only `data:` URLs, so the server fetches each image (SSRF-safe,
    # core/media.py) and sends its bytes. Each dialect's entry says why.
    image_urls: Literal["remote", "inline"] = "remote"
    # The image types it decodes from a data: URL (one of another type fails there, so it
    # is refused here, naming the image); None: whatever the server's fetcher accepts.
    inline_image_types: frozenset[str] | None = None
    # Whether its chat takes `input_audio` content parts (data and format).
    input_audio: bool = False
    # Whether its chat can speak an answer: `modalities: ["text","audio"]` and `audio`
    # (voice, format) sent, `delta.audio` (data, transcript, id, expires_at) streamed back.
    audio_output: bool = False


DIALECTS: dict[DialectName, Dialect] = {
    "vllm": Dialect(
        "vllm",
        _vllm,
        reasoning_fields=("reasoning", "reasoning_content"),
        tokenize="messages",
        stop_token_ids=True,
        # vllm/v1/metrics/loggers.py; one series per engine (data-parallel rank), summed
        load_gauges=("vllm:num_requests_running", "vllm:num_requests_waiting"),
        # Qwen-VL's processor takes the pixel budget per request: Model Studio's 16,384
        # tokens of 28x28 pixels.
        high_resolution_images={"mm_processor_kwargs": {"max_pixels": 16_384 * 28 * 28}},
        # image_urls "remote": vLLM's MediaConnector fetches http(s) URLs itself (and reads
        # data: URLs; file: only under --allowed-local-media-path).
        # Audio in (input_audio, for Qwen2-Audio and the Omni models' thinker) but not out:
        # vLLM runs only the Omni models' thinker ("Inference-only Qwen2.5-Omni model
        # (thinker part)"), whose output is text; speech needs the separate vLLM-Omni.
        input_audio=True,
    ),
    "sglang": Dialect(
        "sglang",
        _sglang,
        accepts_reasoning_history=True,
        stop_token_ids=True,
        # python/sglang/srt/metrics/collector.py; served with --enable-metrics
        load_gauges=("sglang:num_running_reqs", "sglang:num_queue_reqs"),
        # image_urls "remote": SGLang's load_image fetches http(s) URLs itself.
    ),
    "llama-server": Dialect(
        "llama-server",
        _llama_server,
        accepts_reasoning_history=True,
        multiple_choices=False,
        named_tool_choice=False,
        tokenize="template",
        # tools/server/server.cpp; served with --metrics (without it /metrics answers 501)
        load_gauges=("llamacpp:requests_processing", "llamacpp:requests_deferred"),
        # tools/server/utils.hpp (oaicompat_chat_params_parse) downloads an http(s) image
        # only through common_remote_get_content, which a build without curl (ours:
        # bench/build_llama_server.sh, -DLLAMA_CURL=OFF) answers by throwing "built
        # without CURL", and older trees not at all; a "data:image/...;base64," URL every
        # build reads. Its images are decoded by stb_image: no WebP.
        image_urls="inline",
        inline_image_types=frozenset({"image/png", "image/jpeg", "image/gif", "image/bmp"}),
        # the same function reads input_audio parts (wav or mp3) with an audio mmproj
        input_audio=True,
    ),
    # `python -m llama_cpp.server` (llama-cpp-python[server]): OpenAI's chat, with top_k
    "llama-cpp-python": Dialect(
        "llama-cpp-python",
        _no_switch,
        multiple_choices=False,  # one choice, whatever n says
        thinking_budget=False,
        streamed_usage=False,
        health_path="/v1/models",  # it has no /health
        # image_urls "remote": its chat handlers' _load_image opens any URL with urlopen
        # (llama_cpp/llama_chat_format.py) — unguarded, so a deployment may set
        # `fetch_images` to have the server fetch them instead.
    ),
    "ollama": Dialect(
        "ollama",
        _ollama,
        reasoning_fields=("reasoning", "reasoning_content"),
        top_k=False,
        multiple_choices=False,
        thinking_budget=False,
        health_path="/",  # "Ollama is running"
        # openai/openai.go (FromChatRequest): an image_url must start with
        # data:image/{jpeg,jpg,png,webp};base64, (else "invalid image input"): no URLs.
        image_urls="inline",
        inline_image_types=frozenset({"image/jpeg", "image/png", "image/webp"}),
    ),
    "dashscope": Dialect(
        "dashscope",
        _dashscope,
        model_studio=True,
        system_first=False,
        health_path=None,
        high_resolution_images={"vl_high_resolution_images": True},
        # image_urls "remote": Model Studio takes public image URLs and Base64 data URLs.
        # Qwen-Omni there hears input_audio (base64 or a URL in `data`) and speaks: its
        # stream carries delta.audio (Model Studio's Qwen-Omni guide).
        input_audio=True,
        audio_output=True,
    ),
    # image_urls "remote": OpenAI's chat takes image URLs and data URLs alike; its audio
    # models hear input_audio and speak (message.audio, delta.audio), as Model Studio does.
    "openai": Dialect(
        "openai",
        _openai,
        top_k=False,
        thinking_budget=False,
        health_path=None,
        input_audio=True,
        audio_output=True,
    ),
}
