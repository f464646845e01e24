"""What code inside cannot reach: the network, the host's files, other containers."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from openscope.tools.code_interpreter import Containers, SandboxFailed, SandboxPolicy
from tests.tools.code_interpreter.conftest import SMALL, requires_bwrap

pytestmark = requires_bwrap


async def test_a_port_the_test_listens_on_cannot_be_reached(containers: Containers) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        box = await containers.create()
        result = await containers.run(
            box,
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)",
        )
        assert result.error
        assert "OSError" in result.logs or "ConnectionRefusedError" in result.logs
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected
        dns = await containers.run(box, "import socket\nsocket.getaddrinfo('example.com', 80)")
        assert dns.error and "gaierror" in dns.logs
    finally:
        listener.close()


async def test_host_files_are_not_there(containers: Containers, tmp_path: Path) -> None:
    secret = tmp_path / "data" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the host's secret")
    box = await containers.create()
    for path in (secret, Path("/etc/shadow"), Path(__file__)):
        result = await containers.run(box, f"print(open({str(path)!r}).read())")
        assert result.error
        assert "FileNotFoundError" in result.logs
        assert "the host's secret" not in result.logs
    listing = await containers.run(box, "import os\nprint(*os.listdir('/'))")
    system = {"bin", "sbin", "lib", "lib32", "lib64", "usr", "etc", "opt", "mnt", "tmp"}
    prefix_top = SMALL.python_prefix.parts[1]  # e.g. /root for /root/.pyenv/versions/3.11
    assert set(listing.logs.split()) <= system | {"proc", "dev", prefix_top}
    etc = await containers.run(box, "import os\nprint(*sorted(os.listdir('/etc')))")
    assert set(etc.logs.split()) <= {"ld.so.cache", "fonts", "localtime"}


async def test_code_runs_unprivileged(containers: Containers) -> None:
    box = await containers.create()
    result = await containers.run(box, "import os\nprint(os.getuid())\nos.setuid(0)")
    assert result.error
    assert "PermissionError" in result.logs
    assert result.logs.splitlines()[0] != "0"


async def test_one_containers_files_are_invisible_to_another(containers: Containers) -> None:
    first, second = await containers.create(), await containers.create()
    written = await containers.run(first, "open('mine.txt', 'w').write('first only')")
    assert not written.error
    assert (containers.work_dir(first) / "mine.txt").read_text() == "first only"
    seen = await containers.run(second, "import os\nprint(os.listdir('/mnt/data'))")
    assert seen.logs == "[]\n"
    escaped = await containers.run(second, f"open('../{first}/mine.txt').read()")
    assert escaped.error and "FileNotFoundError" in escaped.logs


async def test_a_missing_bwrap_is_a_clear_failure(tmp_path: Path) -> None:
    pool = Containers(tmp_path / "sandbox", SandboxPolicy(bwrap="/nonexistent/bwrap"))
    box = await pool.create()
    with pytest.raises(SandboxFailed) as failed:
        await pool.run(box, "print(1)")
    assert failed.value.kind == "unavailable"
    assert "apt-get install bubblewrap" in failed.value.reason
    await pool.aclose()


@pytest.mark.skipif(
    os.geteuid() != 0,
    reason="only a server running as root gives each container a uid of its own (CI is root)",
)
async def test_each_container_has_its_own_uid(containers: Containers) -> None:
    first, second = await containers.create(), await containers.create()
    uids = [(await containers.run(box, "import os\nos.getuid()")).logs for box in (first, second)]
    assert uids[0] != uids[1]
