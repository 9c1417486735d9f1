"""Benchmarks: start-up time, idle memory, deadline sweep and outbox delivery throughput."""
