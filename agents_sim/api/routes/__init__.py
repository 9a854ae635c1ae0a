"""One router per resource; `create_app` includes them all."""

from agents_sim.api.routes import agents, control, live, metrics, topology

__all__ = ["agents", "control", "live", "metrics", "topology"]
