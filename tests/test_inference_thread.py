"""The server's inference thread: every live model call on one thread (one OpenMP team)."""

from __future__ import annotations

import asyncio
import threading

import pytest
import torch

from engine.runtime.inference_thread import (
    inference,
    on_inference_thread,
    run_inference,
    run_inference_async,
)


def test_calls_from_any_thread_run_on_the_one_inference_thread():
    seen = set()

    @inference
    def where(x: int) -> int:
        seen.add(threading.get_ident())
        assert on_inference_thread()
        return x * 2

    answers = []
    workers = [threading.Thread(target=lambda i=i: answers.append(where(i))) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(answers) == [0, 2, 4, 6] and where(5) == 10
    assert len(seen) == 1 and threading.get_ident() not in seen
    assert not on_inference_thread()


def test_a_call_made_on_the_thread_runs_directly_and_errors_reach_the_caller():
    def nested() -> int:  # would deadlock if it queued behind itself
        return run_inference(lambda: 7)

    assert run_inference(nested) == 7
    with pytest.raises(ValueError, match="bad"):
        run_inference(lambda: (_ for _ in ()).throw(ValueError("bad")))


def test_the_event_loop_awaits_a_model_call():
    async def main() -> torch.Tensor:
        return await run_inference_async(torch.ones(3).mul, 2)

    assert torch.equal(asyncio.run(main()), torch.full((3,), 2.0))
