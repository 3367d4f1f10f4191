"""HTTP edge shared by the services: app factory, error mapping, auth, health and metrics."""
