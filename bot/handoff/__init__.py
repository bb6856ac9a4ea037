"""Handing a call to a human operator: the decision, the operator's summary, delivery."""
