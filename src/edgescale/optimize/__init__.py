"""Decisions: placement, assignment, offloading, caching and energy."""
