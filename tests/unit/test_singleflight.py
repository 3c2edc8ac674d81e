"""`SingleFlight` (D12): concurrent callers share one execution, its result or exception,
and cancelling any of them (leader or follower) never strands the others or leaks a task."""

from __future__ import annotations

import asyncio
import gc

import pytest

from octopus_async._singleflight import SingleFlight


class Operation:
    """An operation that counts its runs and finishes when the test says so."""

    def __init__(self) -> None:
        self.runs = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> str:
        self.runs += 1
        self.started.set()
        await self.release.wait()
        return f"result-{self.runs}"


async def settle() -> None:
    """Let every ready task run until it blocks."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_concurrent_callers_share_one_run():
    flight: SingleFlight[str] = SingleFlight()
    operation = Operation()
    callers = [asyncio.create_task(flight.run(operation)) for _ in range(100)]
    await settle()
    assert flight.in_flight

    operation.release.set()
    results = await asyncio.gather(*callers)

    assert operation.runs == 1
    assert results == ["result-1"] * 100
    assert not flight.in_flight


async def test_sequential_calls_run_again():
    flight: SingleFlight[str] = SingleFlight()
    operation = Operation()
    operation.release.set()

    assert await flight.run(operation) == "result-1"
    assert await flight.run(operation) == "result-2"
    assert operation.runs == 2


async def test_an_exception_reaches_every_caller_and_the_next_call_runs_again():
    flight: SingleFlight[str] = SingleFlight()
    runs = 0
    release = asyncio.Event()

    async def failing() -> str:
        nonlocal runs
        runs += 1
        await release.wait()
        raise LookupError("refresh rejected")

    callers = [asyncio.create_task(flight.run(failing)) for _ in range(10)]
    await settle()
    release.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)

    assert runs == 1
    assert all(isinstance(outcome, LookupError) for outcome in outcomes)
    assert not flight.in_flight

    operation = Operation()
    operation.release.set()
    assert await flight.run(operation) == "result-1"


async def test_exception_without_followers_is_not_reported_as_unretrieved():
    flight: SingleFlight[str] = SingleFlight()
    errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))

    async def failing() -> str:
        raise LookupError("boom")

    with pytest.raises(LookupError):
        await flight.run(failing)
    gc.collect()
    await settle()

    assert errors == []


async def test_a_cancelled_follower_leaves_the_others_unaffected():
    flight: SingleFlight[str] = SingleFlight()
    operation = Operation()
    leader = asyncio.create_task(flight.run(operation))
    await operation.started.wait()
    quitter = asyncio.create_task(flight.run(operation))
    stayer = asyncio.create_task(flight.run(operation))
    await settle()

    quitter.cancel()
    await settle()
    operation.release.set()

    assert await leader == "result-1"
    assert await stayer == "result-1"
    assert quitter.cancelled()
    assert operation.runs == 1


async def test_a_cancelled_leader_hands_over_to_a_follower():
    flight: SingleFlight[str] = SingleFlight()
    operation = Operation()
    leader = asyncio.create_task(flight.run(operation))
    await operation.started.wait()
    followers = [asyncio.create_task(flight.run(operation)) for _ in range(3)]
    await settle()

    leader.cancel()
    await settle()
    operation.release.set()
    results = await asyncio.gather(*followers)

    assert leader.cancelled()
    assert operation.runs == 2  # the leader's run was abandoned; one follower ran it again
    assert results == ["result-2"] * 3
    assert not flight.in_flight


async def test_a_cancelled_lone_leader_leaves_nothing_in_flight():
    flight: SingleFlight[str] = SingleFlight()
    operation = Operation()
    leader = asyncio.create_task(flight.run(operation))
    await operation.started.wait()

    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader

    assert not flight.in_flight
    operation.release.set()
    assert await flight.run(operation) == "result-2"


@pytest.mark.parametrize("finish", [True, False], ids=["completed", "all-cancelled"])
async def test_no_task_is_left_behind(finish):
    before = asyncio.all_tasks()
    flight: SingleFlight[str] = SingleFlight()
    operation = Operation()
    leader = asyncio.create_task(flight.run(operation))
    await operation.started.wait()
    followers = [asyncio.create_task(flight.run(operation)) for _ in range(5)]
    await settle()
    leader.cancel()
    followers[0].cancel()
    await settle()
    if finish:
        operation.release.set()
    else:
        for follower in followers:
            follower.cancel()
    await asyncio.gather(leader, *followers, return_exceptions=True)
    await settle()

    assert asyncio.all_tasks() == before
    assert not flight.in_flight
