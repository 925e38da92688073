"""Spike detection, the alert lifecycle and webhook delivery."""
