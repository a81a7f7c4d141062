"""Run a controller or an agent as a process until SIGTERM/SIGINT (what the CLI commands call)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from edgescale.operate.agent import Agent, AgentConfig
from edgescale.operate.config import ClusterConfig, JoinConfig
from edgescale.operate.controller import Controller, ControllerConfig

__all__ = ["run_agent", "run_controller", "setup_logging"]


def setup_logging(level: str = "INFO") -> None:
    """Log lines with time and component to stderr."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )


async def _until_signal(start: Callable[[], Awaitable[None]], on_signal: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    await start()


def run_controller(cluster: ClusterConfig, config: ControllerConfig) -> None:
    """Serve a controller until SIGTERM or SIGINT."""

    async def main() -> None:
        c = Controller(cluster, config)
        stop = asyncio.Event()
        await _until_signal(c.start, stop.set)
        try:
            await stop.wait()
        finally:
            await c.stop()

    asyncio.run(main())


def run_agent(join: JoinConfig, config: AgentConfig, *, stop_workloads_on_exit: bool = False) -> None:
    """Run an agent until SIGTERM or SIGINT; its workloads keep running unless asked otherwise."""

    async def main() -> None:
        a = Agent(config, join)
        await _until_signal(a.run, a.stop)
        if stop_workloads_on_exit:
            await a.stop_workloads()

    asyncio.run(main())
