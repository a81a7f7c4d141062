"""Analytic models: graphs, queueing, network calculus, Markov chains and reliability."""
