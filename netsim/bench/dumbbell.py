#!/usr/bin/env python3
"""Writes a dumbbell scenario with N UDT flows (scenarios/dumbbell_100.yaml is N = 100).

    python3 netsim/bench/dumbbell.py N DURATION_S > dumbbell_N.yaml

N clients, each behind its own 1 Gbit/s access link to the router `left`, send to one
server across a 10 Gbit/s bottleneck (2 ms, a drop-tail queue of 25 MB: 20 ms at the
bottleneck rate). Access delays spread the round-trip times evenly over 10-200 ms, in an
order unrelated to the start order; the flows start one after another over the first
30 s. Jumbo frames (9000-byte MTU and MSS), as 10 Gbit/s research and data-centre paths
use; a 2048-packet receive buffer (18 MB, room for 750 Mbit/s at 200 ms) per flow.
Used for the scaling table in the README (1, 10, 100 and 1,000 flows).
"""
import sys


def main():
    n, duration = int(sys.argv[1]), int(sys.argv[2])
    mss = 9000
    queue = 25_000_000 // mss
    out = [
        f"# dumbbell_{n}: {n} UDT flows with staggered starts and round-trip times of 10-200 ms",
        "# share a 10 Gbit/s bottleneck. Written by netsim/bench/dumbbell.py "
        f"{n} {duration}; see there.",
        f"name: dumbbell_{n}",
        "seed: 1",
        f"duration: {duration}s",
        "sample_interval: 500ms",
        "hosts:",
        "  server: { address: 10.1.0.1 }",
    ]
    out += [f"  c{i}: {{ address: 10.{2 + i // 250}.{i % 250}.1 }}" for i in range(n)]
    out += [
        "routers: [left]",
        "links:",
        f"  - {{ name: bottleneck, between: [left, server], rate: 10Gbps, delay: 2ms, "
        f"queue: {queue} packets, mtu: {mss} }}",
    ]
    for i in range(n):
        # RTT = 2 x (access + 2 ms): 10-200 ms, shuffled against the start order.
        k = (i * 37) % n
        access_us = 3000 + (k * 95000) // max(1, n - 1)
        out.append(f"  - {{ between: [c{i}, left], rate: 1Gbps, delay: {access_us}us, mtu: {mss} }}")
    out.append("flows:")
    stagger_ms = 30000 // n
    for i in range(n):
        out.append(
            f'  - {{ name: f{i:03d}, from: c{i}, to: "server:{9000 + i}", start: {i * stagger_ms}ms, '
            f"send_for: {duration}s, options: {{ mss: {mss}, recv_buffer: 2048 }} }}"
        )
    print("\n".join(out))


if __name__ == "__main__":
    main()
