"""The platform every LMS function shares: settings, database, outbox, inbox, HTTP, auth."""
