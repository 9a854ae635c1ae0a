"""The WebSocket's live state: feeds (Redis, simulation) -> hub (bounded-rate frames) -> per-client mailboxes."""

from agents_sim.api.live.coalesce import Delta, Mailbox
from agents_sim.api.live.hub import Client, LiveHub

__all__ = ["Client", "Delta", "LiveHub", "Mailbox"]
