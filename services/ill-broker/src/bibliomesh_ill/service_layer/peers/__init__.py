"""ISO 18626 exchanges with institutions outside the platform: what they send us, what we send them."""
