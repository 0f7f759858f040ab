"""The same event-loop benchmark as bench/run.ts (a), in SimPy, for the ratio.

1,000 processes, each holding for a delay drawn from the same precomputed
table (the same linear congruential generator), until N events have fired;
prints the events per second of simulate() as one JSON line. SimPy comes from
Debian's python3-simpy (SimPy 2.3.1, its classic API: Process, hold), run
with Debian's /usr/bin/python3; bench/run.ts runs this file in the same run
as its own loop, so the ratio is measured, not quoted.
"""
import json
import sys
import time

from SimPy.Simulation import Process, Simulation, hold


def run(events: int) -> float:
    sim = Simulation()
    sim.initialize()
    delays = []
    x = 12345
    for _ in range(4096):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        delays.append(1 + (x % 1000))
    state = {"fired": 0, "k": 0}

    class Entity(Process):
        def go(self, first):
            yield hold, self, first
            while state["fired"] < events:
                state["fired"] += 1
                d = delays[state["k"] & 4095]
                state["k"] += 1
                yield hold, self, d

    for i in range(1000):
        e = Entity(sim=sim)
        sim.activate(e, e.go(delays[i]))
    start = time.perf_counter()
    sim.simulate(until=1e18)
    return state["fired"] / (time.perf_counter() - start)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    run(100_000)  # warm the interpreter's caches
    rates = [run(n) for _ in range(runs)]
    print(json.dumps({"simpy": "2.3.1 (Debian python3-simpy)", "python": sys.version.split()[0], "rates": rates}))
