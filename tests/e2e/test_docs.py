"""Every ```python block of the documentation (docs/**/*.md) runs here, against a sandbox.

How a block runs. Each block is one test case, named by its page and its number on the
page (``webhooks-3``: the third ```python block of docs/webhooks.md). The case starts a
fresh sandbox in this process (`SandboxConfig(time_scale=0.01)`, without the slow tail of
topups, so that a case takes as long on every run) and a client for it, and
runs the page's blocks 1 to N in order in one namespace, so that a block can use what the
blocks before it defined; only block N is the one under test, but a failure in an earlier
one fails the case too, naming that block. The namespace starts with:

- ``client``: an `OctopusClient` for the sandbox, its poll cadence scaled to the sandbox's
  time (`PollPolicy().scaled(0.01)`), closed after the case;
- ``sandbox``: that `Sandbox`;
- ``asyncio`` and ``Decimal``, and ``__name__`` is ``"__main__"``, as in a script;
- on the pages that need them (`SERVICES`), ``redis_url`` and ``temporal_address`` (the
  suite's Redis and Temporal dev server; those cases run on the wall clock).

The environment names the same sandbox (``OCTOPUS_BASE_URL``, ``OCTOPUS_API_KEY``,
``OCTOPUS_API_SECRET``), so ``OctopusClient()`` reaches it as it would reach the service,
and the current directory is a fresh temporary one (for journals and SQLite files).

A block is compiled with `ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`, so it may ``await``, ``async
for`` and ``async with`` at its top level, and is evaluated in the namespace; the
coroutine that gives back is awaited. A whole program, which ends with
``asyncio.run(main())``, runs as it is: every ``asyncio.run(x)`` at a block's top level
becomes ``await x``, since the case's event loop is already running.

A block with a title (```python title="test_shop.py") is a file, not a fragment: the page's
titled blocks (```toml ones too) make a small project, as on the testing page. The first
case of such a page writes the project to a fresh directory and runs pytest there once, in
a subprocess, with the project's own configuration and the SDK's pytest plugin; the case of
a test module passes when each of its tests passed, that of a conftest.py when the whole
run did. Any other file is compiled. Fragments on such a page run as above, without the
files.

Cases run on virtual time (looptime, see tests/support.py), like the rest of the suite,
except those of the pages in `SERVICES` and the files run by pytest. Shell commands,
configuration files and code that needs credentials are written as ```sh, ```toml or
```text blocks and are not run.

Besides the samples: every page of docs/ is in the `nav` of mkdocs.yml and every page in
the `nav` exists. Whether the site builds without warnings is `nox -s docs`'s check.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
import sys
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from octopus_async import OctopusClient, PollPolicy
from octopus_async.sandbox import Sandbox, SandboxConfig
from octopus_async.webhooks import SQLiteEventStore

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCALE = 0.01

# Pages whose samples use services besides the sandbox: the fixtures whose values they
# get, under the same names. Their cases run on the wall clock.
SERVICES: dict[str, tuple[str, ...]] = {
    "fleets.md": ("redis_url", "temporal_address"),
}

_OPENING = re.compile(r"^(?P<indent>[ \t]*)```(?P<language>\w+)(?P<attributes>[^\n]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')


@dataclass(frozen=True)
class Block:
    page: str  # relative to docs/, with "/"
    number: int  # 1-based, among the page's ```python blocks; 0 for other languages
    line: int  # of the opening fence, 1-based
    language: str
    title: str | None  # a file's name, for the blocks of a project
    source: str

    @property
    def name(self) -> str:
        return f"{self.page.removesuffix('.md')}-{self.number}"

    @property
    def runs_pytest(self) -> bool:
        name = Path(self.title or "").name
        return name == "conftest.py" or (name.startswith("test_") and name.endswith(".py"))


def read_fences(path: Path) -> list[Block]:
    """The fenced blocks of one page, dedented (a block may sit in a list item)."""
    page = path.relative_to(DOCS).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    python = 0
    index = 0
    while index < len(lines):
        opening = _OPENING.match(lines[index])
        if opening is None:
            index += 1
            continue
        closing = re.compile(re.escape(opening["indent"]) + r"```\s*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if end == len(lines):
            raise AssertionError(f"docs/{page}:{index + 1}: a ``` block is never closed")
        language = opening["language"]
        python += language == "python"
        title = _TITLE.search(opening["attributes"])
        source = textwrap.dedent("\n".join(lines[index + 1 : end]))
        number = python if language == "python" else 0
        blocks.append(Block(page, number, index + 1, language, title and title["title"], source))
        index = end + 1
    return blocks


def all_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


FENCES = {path: read_fences(path) for path in all_pages()}
BLOCKS = [block for fences in FENCES.values() for block in fences if block.language == "python"]


def _on_the_wall_clock(block: Block) -> bool:
    return block.page in SERVICES or block.runs_pytest


def _cases(*, real_time: bool) -> list[Any]:
    return [
        pytest.param(block, id=block.name)
        for block in BLOCKS
        if _on_the_wall_clock(block) == real_time
    ]


class _AwaitInsteadOfRun(ast.NodeTransformer):
    """``asyncio.run(x)`` at a block's top level becomes ``await x``; function and class
    bodies are left alone."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        function = node.func
        if (
            isinstance(function, ast.Attribute)
            and function.attr == "run"
            and isinstance(function.value, ast.Name)
            and function.value.id == "asyncio"
            and len(node.args) == 1
            and not node.keywords
        ):
            return ast.copy_location(ast.Await(node.args[0]), node)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return node

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return node


def compile_block(block: Block) -> Any:
    """The block's code, its line numbers those of the page, so tracebacks point there."""
    filename = str(DOCS / block.page)
    source = "\n" * block.line + block.source
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = compile(source, filename, "exec", flags=flags, dont_inherit=True)
    tree = ast.fix_missing_locations(_AwaitInsteadOfRun().visit(tree))
    return compile(tree, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


async def run_block(block: Block, namespace: dict[str, Any]) -> None:
    outcome = eval(compile_block(block), namespace)
    if inspect.iscoroutine(outcome):
        await outcome


@pytest.fixture
async def docs_sandbox() -> AsyncIterator[Sandbox]:
    # No slow tail of topups (a tenth would take 0.6-6 s): the same on every run.
    async with Sandbox(SandboxConfig(time_scale=SCALE, topup_slow_share=0.0)) as running:
        yield running


# The loop's clock is chosen per test function (tests/conftest.py), not per parameter: the
# samples on the wall clock have a test function of their own.
@pytest.mark.parametrize("block", _cases(real_time=False))
async def test_sample_runs(
    block: Block,
    docs_sandbox: Sandbox,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    await run_case(block, docs_sandbox, request, monkeypatch, tmp_path)


@pytest.mark.real_time
@pytest.mark.parametrize("block", _cases(real_time=True))
async def test_sample_runs_on_the_wall_clock(
    block: Block,
    docs_sandbox: Sandbox,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    await run_case(block, docs_sandbox, request, monkeypatch, tmp_path)


async def run_case(
    block: Block,
    docs_sandbox: Sandbox,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    settings = docs_sandbox.client_settings()
    monkeypatch.setenv("OCTOPUS_BASE_URL", settings["base_url"])
    monkeypatch.setenv("OCTOPUS_API_KEY", settings["api_key"])
    monkeypatch.setenv("OCTOPUS_API_SECRET", settings["api_secret"])
    monkeypatch.delenv("OCTOPUS_ENVIRONMENT", raising=False)
    monkeypatch.chdir(tmp_path)
    page = FENCES[DOCS / block.page]
    if block.title is not None:
        await check_project_file(block, page, tmp_path)
        return
    services = {name: request.getfixturevalue(name) for name in SERVICES.get(block.page, ())}
    fragments = [earlier for earlier in page if earlier.language == "python" and not earlier.title]
    async with OctopusClient(**settings, poll=PollPolicy().scaled(SCALE)) as client:
        namespace: dict[str, Any] = {
            "__name__": "__main__",
            "asyncio": asyncio,
            "Decimal": Decimal,
            "client": client,
            "sandbox": docs_sandbox,
            **services,
        }
        try:
            for earlier in fragments[: fragments.index(block)]:
                try:
                    await run_block(earlier, namespace)
                except Exception as error:
                    raise AssertionError(
                        f"block {earlier.number} of docs/{block.page} (line {earlier.line}), "
                        f"which block {block.number} follows, failed: {error!r}"
                    ) from error
            await run_block(block, namespace)
        finally:
            # A page's first blocks may open what a later block closes (an event store's
            # database): a case that ends before that block closes it here.
            for value in namespace.values():
                if isinstance(value, SQLiteEventStore):
                    value.close()


# Plugins of this suite that a user's project would not have (looptime's pytest plugins
# leave a loop unclosed for sync tests, see the SDK's pyproject.toml), and no cache
# directory written.
_FOREIGN = ("-p", "no:looptime_plugin", "-p", "no:looptime_chronometers")
_FOREIGN += ("-p", "no:looptime_timeproxies", "-p", "no:cacheprovider")


# pytest's report on each page's project, made once per test session: (exit status, -rA
# output).
_PROJECT_REPORTS: dict[str, tuple[int, str]] = {}


async def check_project_file(block: Block, page: list[Block], directory: Path) -> None:
    """Run pytest on the page's project (once), then check `block`'s part: its tests all
    passed, or for a conftest.py the whole run did; any other file is compiled."""
    compile_block(block)
    if not block.runs_pytest:
        return
    if block.page not in _PROJECT_REPORTS:
        _PROJECT_REPORTS[block.page] = await run_project(page, directory)
    status, report = _PROJECT_REPORTS[block.page]
    context = f"pytest on the files of docs/{block.page}:\n{report}"
    if block.title == "conftest.py" or (block.title or "").endswith("/conftest.py"):
        assert status == 0, context
        return
    name = re.escape(str(block.title))
    assert re.search(rf"^PASSED {name}::", report, re.MULTILINE), context
    assert not re.search(rf"^(?:FAILED|ERROR) {name}", report, re.MULTILINE), context


async def run_project(page: list[Block], directory: Path) -> tuple[int, str]:
    """Write the page's files to `directory` and run pytest there, in a subprocess."""
    for file in page:
        if file.title is not None:
            target = directory / file.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.source + "\n", encoding="utf-8")
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    }
    environ["PYTHONDONTWRITEBYTECODE"] = "1"
    command = [sys.executable, "-m", "pytest", "--rootdir", str(directory), *_FOREIGN]
    command += ["-q", "-rA"]
    if (directory / "pyproject.toml").exists():
        command += ["-c", str(directory / "pyproject.toml")]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=directory,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 100)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def test_every_page_has_its_samples_found() -> None:
    """A sanity check of the reader: the pages hold samples, each closed."""
    assert BLOCKS, "no ```python block found under docs/"


def _nav_pages() -> list[str]:
    """The pages the `nav` of mkdocs.yml lists (read without a YAML parser: the test
    extra has none, and mkdocs.yml may use tags only mkdocs resolves)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = re.search(r"^nav:\n((?:[ \t]+.*\n|\n)*)", text, re.MULTILINE)
    assert nav is not None, "mkdocs.yml has no nav"
    return re.findall(r"([\w./-]+\.md)\s*$", nav.group(1), re.MULTILINE)


def test_nav_and_pages_agree() -> None:
    listed = _nav_pages()
    on_disk = [path.relative_to(DOCS).as_posix() for path in all_pages()]
    assert sorted(set(listed)) == sorted(listed), "a page is listed twice in the nav"
    assert [page for page in listed if page not in on_disk] == [], "listed, but missing"
    assert [page for page in on_disk if page not in listed] == [], "in docs/, not in the nav"
