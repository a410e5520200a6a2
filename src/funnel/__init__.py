"""Funnel: ad-funnel event pipeline."""
