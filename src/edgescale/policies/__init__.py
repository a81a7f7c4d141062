"""Policies shared by the digital twin and the real control plane."""
