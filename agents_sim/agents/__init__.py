"""Agents: immutable behavioural DNA, synthetic identities and the mutable per-agent state."""
