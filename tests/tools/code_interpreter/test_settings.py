"""The `[tools.code_interpreter]` sizes of /tmp and /mnt/data reach the sandbox's policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from openscope.server.tools import build_tool_runners, close_tool_runners
from openscope.settings import Settings, SettingsError, load_settings
from openscope.tools.code_interpreter import CodeInterpreterRunner, SandboxPolicy


def settings(tmp_path: Path, table: str) -> Settings:
    config = tmp_path / "openscope.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[tools.code_interpreter]\n{table}')
    return load_settings(config)


async def test_tmp_mb_and_disk_mb_become_the_policys_bytes(tmp_path: Path) -> None:
    runners = build_tool_runners(settings(tmp_path, "enabled = true\ntmp_mb = 32\ndisk_mb = 100\n"))
    try:
        runner = next(iter(runners.values()))
        assert isinstance(runner, CodeInterpreterRunner)
        policy = runner.containers.policy
        assert (policy.tmp_bytes, policy.max_disk_bytes) == (32 << 20, 100 << 20)
    finally:
        await close_tool_runners(runners)


def test_the_defaults_are_the_policys() -> None:
    defaults = Settings().tools.code_interpreter
    policy = SandboxPolicy()
    assert (defaults.tmp_mb << 20, defaults.disk_mb << 20) == (
        policy.tmp_bytes,
        policy.max_disk_bytes,
    )


@pytest.mark.parametrize("table", ["tmp_mb = 0\n", "disk_mb = 1\n", "tmp_mb = -5\n"])
def test_sizes_too_small_are_refused(tmp_path: Path, table: str) -> None:
    with pytest.raises(SettingsError) as refused:
        settings(tmp_path, table)
    assert f"code_interpreter.{table.split(' ')[0]}" in str(refused.value)
    assert "greater than or equal" in str(refused.value)  # known, but too small
