"""The event bus: one interface (base.Bus), engines chosen by URL."""
