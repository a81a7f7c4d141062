"""Importers for real topologies and datasets (Topology Zoo GraphML/GML, EUA)."""
