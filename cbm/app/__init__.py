"""The application layer: composes the store, bundles and the measures (import then react; status)."""
