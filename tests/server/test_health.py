"""GET /health: 200 while every backend can serve, 503 naming the one whose engine died."""

from pathlib import Path

from fastapi.testclient import TestClient

from openscope.backends.scripted import ScriptedBackend
from openscope.server import create_app
from openscope.settings import Settings


def test_health_answers_503_once_a_backend_is_unhealthy(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "api_keys": ["sk-test"],
            "data_dir": str(tmp_path / "data"),
            "backends": {"embedded": {"type": "scripted"}, "other": {"type": "scripted"}},
            "routes": {"smollm2-135m-instruct": "embedded"},
        }
    )
    embedded = ScriptedBackend()
    app = create_app(settings, backends={"embedded": embedded, "other": ScriptedBackend()})
    with TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok"}
        embedded.healthy = False
        response = client.get("/health")
        assert response.status_code == 503
        assert response.json() == {"status": "unhealthy", "backends": ["embedded"]}
