"""Scenarios built on the experiment: the classroom lessons, the settings matrix, failover on a
three-node cluster, and the live watch."""
