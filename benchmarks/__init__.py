"""`make bench`: trigger precision, leg gap, scale and memory of the real daemon against the simulator.

Run with `python -m benchmarks` from the repository root; see benchmarks/README.md for how to read the output.
"""
