"""Run a deferrable trigger's ``run()`` the way the triggerer does and collect what it yields."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, cast

from airflow.triggers.base import BaseTrigger, TriggerEvent


def first_events(trigger: BaseTrigger, count: int, within: float) -> list[dict[str, Any]]:
    """The first ``count`` event payloads, or fewer if ``within`` seconds pass first (then the
    generator is closed, as the triggerer closes a trigger it cancels)."""

    async def collect() -> list[dict[str, Any]]:
        payloads: list[dict[str, Any]] = []
        agen = cast(AsyncGenerator[TriggerEvent, None], trigger.run())
        try:
            async with asyncio.timeout(within):
                async for event in agen:
                    payloads.append(event.payload)
                    if len(payloads) == count:
                        break
        except TimeoutError:
            pass
        finally:
            await agen.aclose()
        return payloads

    return asyncio.run(collect())
