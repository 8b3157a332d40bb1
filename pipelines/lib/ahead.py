"""Work a later step of the same run needs, started ahead in a background thread.

The in-process executor (``onegrid run``, the tests) runs a run's steps one after another in
one process. Some work of a later step only reads what an earlier step finished, and can run
beside the steps in between: the dbt docs page (beside the quality checks), the publish
snapshot's tables (written to a staging folder while the checks audit the same warehouse).
``start`` begins such work under a name for a run; the later step ``take``s it and waits for
its result, or does the work itself when nothing was started (e.g. under the multiprocess
executor, where each step has a process of its own and ``planned`` says no).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

_LOCK = threading.Lock()
_AHEAD: dict[tuple[str, str], Future] = {}


def planned(context: Any, op_name: str) -> bool:
    """Whether this process also executes the step of ``op_name`` in this run."""
    plan = context.get_step_execution_context().execution_plan
    return op_name in plan.step_keys_to_execute


def start(run_id: str, name: str, work: Callable[[], Any], thread_name: str) -> Future:
    """Run ``work()`` in a daemon thread; its result (or exception) waits for ``take``."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # noqa: BLE001 - re-raised by the step that takes it
            future.set_exception(exc)

    with _LOCK:
        _AHEAD[(run_id, name)] = future
    threading.Thread(target=run, name=thread_name, daemon=True).start()
    return future


def take(run_id: str, name: str) -> Future | None:
    """The work started under this name for this run (removed from the registry), or None."""
    with _LOCK:
        return _AHEAD.pop((run_id, name), None)
