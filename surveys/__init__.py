"""Survey domain without Flask: instruments, assignments, resident-link tokens."""
