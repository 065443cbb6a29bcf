"""Audiences: who is selected for a campaign (config.py, selection.py), who of them is held out
(ml/control_groups.py), what goes out (outbox.py, delivery.py) and what it did (impact.py)."""
