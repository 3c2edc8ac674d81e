"""Sharing one login between clients and processes through a token store."""

from __future__ import annotations

import asyncio
import logging
import stat
import sys
import textwrap

import pytest

from octopus_async import FileTokenStore

WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from octopus_async import FileTokenStore, OctopusClient

    async def main(url, path):
        async with OctopusClient("sandbox-key", "sandbox-secret", base_url=url,
                                 token_store=FileTokenStore(path)) as client:
            print(len(await client.wallets.list()))

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)

# The file store reads and writes on a thread; the event loop waits for the thread at its
# close with a timeout that virtual time would run out at once (Python 3.13).
pytestmark = pytest.mark.real_time


async def test_processes_share_a_login_through_a_token_file(sandbox, make_client, tmp_path):
    path = tmp_path / "tokens.json"
    await make_client(sandbox, token_store=FileTokenStore(path)).wallets.list()

    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WORKER, sandbox.url, str(path), stdout=asyncio.subprocess.PIPE
        )
        for _ in range(3)
    ]
    outputs = [await worker.communicate() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0]
    assert [out.strip() for out, _ in outputs] == [b"3", b"3", b"3"]
    assert sandbox.state.count("POST", "/auth/login") == 1
    assert sandbox.state.count("GET", "/api/v1/wallets") == 4


async def test_token_file_is_private_and_cleared_on_logout(sandbox, make_client, tmp_path):
    path = tmp_path / "nested" / "tokens.json"
    client = make_client(sandbox, token_store=FileTokenStore(path))
    tokens = await client.auth.login()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens.access_token in path.read_text()
    await client.auth.logout()
    assert not path.exists()


async def test_an_unreadable_token_file_means_logging_in(sandbox, make_client, tmp_path, caplog):
    path = tmp_path / "tokens.json"
    path.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="octopus_async.auth"):
        await make_client(sandbox, token_store=FileTokenStore(path)).wallets.list()
    assert "unreadable token file" in caplog.text
    assert sandbox.state.count("POST", "/auth/login") == 1
    assert (await FileTokenStore(path).load()) is not None
