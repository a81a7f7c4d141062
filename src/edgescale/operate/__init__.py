"""The real control plane: a controller, agents and regional leaf nodes over NATS (see ``docs/operate.md``).

Modules:

- ``controller``: desired state (SQLite), reconcile loop, placement through ``edgescale.policies``,
  failure detection with an autonomy window, rollouts (``rollout``), HTTP API (``api``), JetStream
  mirror (``jsmirror``).
- ``cluster``: ``LiveCluster`` (the controller's state as a ``ClusterView``) and ``plan_counts``;
- ``agent`` and ``workload``/``procs``: workloads as real processes, restarts with backoff, health
  probes, a state file that lets a restarted agent re-adopt its processes.
- ``security`` (per-agent keys, MACs, tokens), ``protocol`` (subjects), ``config`` (cluster and join files).
- ``natsd`` (run nats-server: users, JetStream, leaf nodes, clusters), ``local`` (a whole cluster on one
  machine), ``hollow`` (thousands of lightweight agents), ``design`` (a scenario's plan as deployments).
"""
