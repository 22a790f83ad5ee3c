"""Hand-made mutants of the checks that keep peers honest, and their runner (`make mutants`, docs/adr/0307)."""
