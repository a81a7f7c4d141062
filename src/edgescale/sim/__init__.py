"""The digital twin: compiled data plane, Python control plane."""
