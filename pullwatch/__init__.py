"""pullwatch: container image pulls, from containerd's log, on every containerd version."""

__version__ = "0.1.0"
