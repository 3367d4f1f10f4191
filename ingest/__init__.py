"""Ingest: validates chunks from HTTP (and AMQP) and writes them to the store."""
