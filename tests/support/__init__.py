"""Helpers shared by the cross-service tests: real servers, small services on one bus, bounded waits."""
