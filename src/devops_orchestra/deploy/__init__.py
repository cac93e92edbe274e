"""Deploys: targets (local processes behind haproxy, Kubernetes), strategies, SLO watching and rollback."""
