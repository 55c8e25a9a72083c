"""The unknown budget: a freed place wakes one waiting post, in order; cancelling passes it on."""

from __future__ import annotations

import asyncio

import pytest

from uploader.send.budget import BudgetClosed, BudgetSpent, UnknownBudget


async def test_a_freed_place_goes_to_the_first_waiting_post_only() -> None:
    budget = UnknownBudget(2)
    await budget.reserve()
    await budget.reserve()
    waiting = [asyncio.ensure_future(budget.reserve()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiting)
    budget.release(unknown=False)
    await asyncio.sleep(0)
    assert [w.done() for w in waiting] == [True, False, False]
    assert budget.out == 2
    waiting[1].cancel()  # a post that stops waiting does not keep the next place
    await asyncio.sleep(0)
    budget.release(unknown=False)
    await asyncio.sleep(0)
    assert waiting[2].done() and budget.out == 2


async def test_a_woken_post_cancelled_before_it_runs_passes_its_place_on() -> None:
    budget = UnknownBudget(1)
    await budget.reserve()
    first, second = asyncio.ensure_future(budget.reserve()), asyncio.ensure_future(budget.reserve())
    await asyncio.sleep(0)
    budget.release(unknown=False)
    first.cancel()  # woken, but cancelled before it could take the place
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert second.done() and not second.cancelled() and budget.out == 1


async def test_spending_the_budget_wakes_every_waiting_post_to_fail() -> None:
    budget = UnknownBudget(2)
    await budget.reserve()
    await budget.reserve()
    waiting = [asyncio.ensure_future(budget.reserve()) for _ in range(3)]
    await asyncio.sleep(0)
    budget.release(unknown=True)
    budget.release(unknown=True)
    for w in waiting:
        with pytest.raises(BudgetSpent):
            await w


async def test_closing_the_budget_on_a_stop_ends_every_wait() -> None:
    budget = UnknownBudget(1)
    await budget.reserve()
    waiting = [asyncio.ensure_future(budget.reserve()) for _ in range(2)]
    await asyncio.sleep(0)
    budget.close()
    for w in waiting:
        with pytest.raises(BudgetClosed):
            await w
    with pytest.raises(BudgetClosed):
        await budget.reserve()
