"""Faults under load (issue 8): a stack of its own, a burst through it, a fault, an audit."""
