"""The digital twin: compiled data plane, Python control plane."""

from edgescale.sim import _aot

_aot.install()  # first: with the ahead-of-time kernel built, the kernel's modules load without numba
