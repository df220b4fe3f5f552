"""The event contracts between LMS services."""
