"""The system model: scenario, plan, compiled arrays, readers and writers."""
