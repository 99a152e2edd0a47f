"""One worker thread fed by a one-slot mailbox where the latest request wins.

A :class:`Lane` runs jobs ``job(token)`` one at a time on its own thread. Two queues:

- the *latest* slot: :meth:`Lane.submit` replaces whatever request is waiting there
  (requests coalesce while the user scrubs) and bumps the lane's generation, so the job
  already running sees ``token.cancelled`` at its next stage and stops;
- *tasks* (:meth:`Lane.submit_task`): run in order and are never replaced (opening a
  video, exports); :meth:`Lane.cancel` cancels them too. A cancelled task is never dropped:
  it still runs, with a token that says ``cancelled`` (it keeps the task generation it was
  queued with), so every job reaches its own cleanup (a training run reports that it
  ended, a deferred ``close()`` still closes). Jobs check ``token.cancelled`` first and
  return early.

Jobs call ``token.check()`` between stages (decode, encode, PCA, render); it raises
:class:`Cancelled`, which the lane swallows. Any other exception goes to ``on_error``.
No Qt: results leave through callbacks the job was given.
"""

from __future__ import annotations

import collections
import threading
import traceback
from typing import Callable

from ..errors import Cancelled

Job = Callable[["CancelToken"], None]

__all__ = ["Cancelled", "CancelToken", "Job", "Lane"]


class CancelToken:
    """Tells a running job whether a newer request (or a cancel) made it stale."""

    def __init__(self, lane: "Lane", generation: int, kind: str) -> None:
        self._lane = lane
        self.generation = generation
        self._kind = kind

    @property
    def cancelled(self) -> bool:
        """True once a newer request, :meth:`Lane.cancel` or :meth:`Lane.close` came."""
        lane = self._lane
        if lane.closed:
            return True
        current = lane.generation if self._kind == "latest" else lane.task_generation
        return current != self.generation

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job is stale."""
        if self.cancelled:
            raise Cancelled("superseded by a newer request")


class Lane:
    """A single worker thread with a latest-wins slot and a task queue.

    Parameters
    ----------
    name:
        thread name (shows in debuggers and tracebacks).
    on_error:
        called on the worker thread with ``(exception, generation)`` when a job raises
        anything but :class:`Cancelled`.
    on_idle:
        optional ``on_idle(token)`` run when the lane has nothing queued (prefetch); it
        gets a token that a new request cancels.
    """

    def __init__(
        self,
        name: str,
        on_error: Callable[[BaseException, int], None] | None = None,
        on_idle: Job | None = None,
    ) -> None:
        self.name = name
        self.generation = 0
        self.task_generation = 0
        self.closed = False
        self._on_error = on_error
        self._on_idle = on_idle
        self._latest: tuple[int, Job] | None = None
        self._tasks: collections.deque[tuple[int, Job]] = collections.deque()
        self._cond = threading.Condition()
        self._busy = False
        self._idle_wanted = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- submitting -----------------------------------------------------------------------
    def submit(self, job: Job) -> int:
        """Put ``job`` in the latest slot (replacing a waiting one); returns its generation."""
        with self._cond:
            self.generation += 1
            self._latest = (self.generation, job)
            self._idle_wanted = self._on_idle is not None
            self._cond.notify_all()
            return self.generation

    def submit_task(self, job: Job) -> int:
        """Queue ``job`` to run after the ones before it (never replaced)."""
        with self._cond:
            self._tasks.append((self.task_generation, job))
            self._cond.notify_all()
            return self.task_generation

    def cancel(self) -> None:
        """Cancel the running job, the waiting request and every queued task.

        Queued tasks stay queued: they run with a cancelled token (so they can clean up and
        report that they ended) instead of silently vanishing.
        """
        with self._cond:
            self.generation += 1
            self.task_generation += 1
            self._latest = None
            self._idle_wanted = False
            self._cond.notify_all()

    def supersede(self) -> None:
        """Make the running latest-slot job (and the idle job) stale; tasks are not touched.

        For when what the requests refer to changed under them (another video opened): the
        running view or prefetch stops at its next stage, a waiting request still runs (and
        finds out for itself that it is stale).
        """
        with self._cond:
            self.generation += 1
            self._cond.notify_all()

    def poke_idle(self) -> None:
        """Run the idle job again once the lane has nothing else to do (what it should prefetch
        changed), without cancelling the job that runs now."""
        with self._cond:
            self._idle_wanted = self._on_idle is not None
            self._cond.notify_all()

    def request_waiting(self) -> bool:
        """True while a request (not a task) waits for the worker."""
        with self._cond:
            return self._latest is not None

    def has_pending(self) -> bool:
        """True when a request or task is waiting."""
        return self._latest is not None or bool(self._tasks)

    def idle(self) -> bool:
        """True when nothing runs and nothing waits."""
        with self._cond:
            return not self._busy and not self.has_pending()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the lane is idle (tests and shutdown only); True if it became idle."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy and not self.has_pending(), timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Cancel everything and stop the thread (waits up to ``timeout`` seconds)."""
        with self._cond:
            self.closed = True
            self._latest = None
            self._tasks.clear()
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    # -- the worker -----------------------------------------------------------------------
    def _next(self) -> tuple[CancelToken, Job] | None:
        with self._cond:
            while True:
                if self.closed:
                    return None
                if self._tasks:
                    generation, job = self._tasks.popleft()
                    self._busy = True
                    return CancelToken(self, generation, "task"), job
                if self._latest is not None:
                    generation, job = self._latest
                    self._latest = None
                    self._busy = True
                    return CancelToken(self, generation, "latest"), job
                if self._idle_wanted and self._on_idle is not None:
                    self._idle_wanted = False
                    self._busy = True
                    return CancelToken(self, self.generation, "latest"), self._on_idle
                self._cond.notify_all()  # wake wait_idle()
                self._cond.wait()

    def _run(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            token, job = item
            try:
                job(token)
            except Cancelled:
                pass
            except BaseException as error:  # noqa: BLE001 - reported, the lane keeps running
                if self._on_error is not None:
                    try:
                        self._on_error(error, token.generation)
                    except Exception:  # pragma: no cover - a broken error handler
                        traceback.print_exc()
                else:
                    traceback.print_exc()
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
