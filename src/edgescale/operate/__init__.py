"""The real control plane."""
