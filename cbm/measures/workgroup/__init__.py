"""Working group: meetings, minutes, actions and joint proposals. See ``service.py``; stays light to import."""
