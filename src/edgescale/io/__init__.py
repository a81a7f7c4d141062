"""Readers for real topologies and datasets."""
