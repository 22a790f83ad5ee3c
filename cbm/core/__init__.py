"""Records, canonical JSON, DSSE envelopes, keys and party cards, errors: no I/O beyond key files."""
