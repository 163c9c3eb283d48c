"""The bundled demo sites: a small realistic internet on loopback for demos, tests and benchmarks."""
