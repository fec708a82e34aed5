"""The component model: components compiled ahead of time, lifted and lowered through
the canonical ABI (issue 18)."""
