"""The public API is pinned: adding or removing a name is a deliberate change."""

import edgescale


def test_all_is_pinned() -> None:
    assert sorted(edgescale.__all__) == [
        "EdgescaleError",
        "InfeasibleError",
        "Plan",
        "Scenario",
        "ScenarioError",
        "SimulationError",
        "SystemArrays",
        "UnstableSystemError",
        "__version__",
        "analyze",
        "compile_scenario",
        "default_plan",
        "describe",
        "load",
        "load_plan",
        "save",
        "save_plan",
        "simulate",
        "simulate_sweep",
    ]
    for name in edgescale.__all__:
        assert hasattr(edgescale, name)
