"""The SimPy São Paulo ride-hailing simulation: a deterministic, pure event producer.

Entry points: `agents_sim.simulation.Simulation` (one world, stepped by SimPy), `agents_sim.runtime.
SimulationRuntime` (a simulation in a background thread with control commands) and the sinks in
`agents_sim.sinks`. The zone model (`schemas.zones`) imports without SimPy.
"""
