"""Coverage-guided fuzz targets (atheris): one file per parser of outside input. See docs/adr/0120."""
