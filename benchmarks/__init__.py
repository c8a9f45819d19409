"""Benchmarks: what the program, the policy pack and the scanner cost, and how that grows (see README.md)."""
