"""The worker lane: latest request wins, stale jobs stop between stages, cancel, errors."""

from __future__ import annotations

import threading

from jepa_studio.engine.lane import CancelToken, Cancelled, Lane


def test_latest_request_wins_while_worker_is_busy() -> None:
    lane = Lane("test-latest")
    gate = threading.Event()
    started = threading.Event()
    ran: list[int] = []

    def blocking(token: CancelToken) -> None:
        started.set()
        gate.wait(5)
        ran.append(0)

    lane.submit(blocking)
    assert started.wait(5)
    for i in range(1, 50):  # the user scrubs: 49 requests while the worker is busy
        lane.submit(lambda token, i=i: ran.append(i))
    gate.set()
    assert lane.wait_idle(5)
    assert ran == [0, 49]
    lane.close()


def test_stale_job_is_dropped_between_stages() -> None:
    lane = Lane("test-stale")
    gate = threading.Event()
    started = threading.Event()
    delivered: list[str] = []

    def job(name: str):
        def run(token: CancelToken) -> None:
            started.set()
            gate.wait(5)  # stage 1 (decode, encode...)
            token.check()  # between stages
            delivered.append(name)

        return run

    g1 = lane.submit(job("old"))
    assert started.wait(5)
    g2 = lane.submit(job("new"))
    assert g2 > g1
    gate.set()
    assert lane.wait_idle(5)
    assert delivered == ["new"]
    lane.close()


def test_tasks_are_never_replaced_and_cancel_cancels_them() -> None:
    lane = Lane("test-tasks")
    gate = threading.Event()
    started = threading.Event()
    seen: list[str] = []
    cancelled_flags: list[bool] = []

    def first(token: CancelToken) -> None:
        started.set()
        gate.wait(5)
        cancelled_flags.append(token.cancelled)

    lane.submit_task(first)
    assert started.wait(5)
    lane.submit_task(lambda t: seen.append("a"))
    lane.submit_task(lambda t: seen.append("b"))
    lane.submit(lambda t: seen.append("view"))  # a view request does not cancel tasks
    gate.set()
    assert lane.wait_idle(5)
    assert seen == ["a", "b", "view"]
    assert cancelled_flags == [False]

    gate.clear()
    started.clear()
    lane.submit_task(first)
    assert started.wait(5)
    queued_flags: list[bool] = []
    lane.submit_task(lambda t: queued_flags.append(t.cancelled))
    lane.cancel()
    lane.submit_task(lambda t: queued_flags.append(t.cancelled))  # after the cancel: runs normally
    gate.set()
    assert lane.wait_idle(5)
    assert cancelled_flags == [False, True]
    # the task queued before the cancel still runs (so it can clean up), but cancelled
    assert queued_flags == [True, False]
    lane.close()


def test_errors_are_reported_and_the_lane_keeps_working() -> None:
    errors: list[BaseException] = []
    lane = Lane("test-errors", on_error=lambda e, g: errors.append(e))
    done = threading.Event()

    def boom(token: CancelToken) -> None:
        raise ValueError("boom")

    def cancelled(token: CancelToken) -> None:
        raise Cancelled("stale")

    lane.submit_task(boom)
    lane.submit_task(cancelled)
    lane.submit_task(lambda t: done.set())
    assert done.wait(5)
    assert lane.wait_idle(5)
    assert [str(e) for e in errors] == ["boom"]
    lane.close()


def test_idle_hook_runs_after_a_request_and_is_cancelled_by_the_next() -> None:
    idle_runs: list[int] = []
    gate = threading.Event()
    in_idle = threading.Event()
    observed: list[bool] = []

    def on_idle(token: CancelToken) -> None:
        idle_runs.append(token.generation)
        in_idle.set()
        gate.wait(5)
        observed.append(token.cancelled)

    lane = Lane("test-idle", on_idle=on_idle)
    lane.submit(lambda t: None)
    assert in_idle.wait(5)
    lane.submit(lambda t: None)  # a new request arrives during prefetch
    gate.set()
    assert lane.wait_idle(5)
    assert observed[0] is True
    assert len(idle_runs) == 2  # prefetch again after the second request
    lane.close()
