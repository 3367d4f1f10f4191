from tests.integration.amqp_fixtures import bus_settings, compactors, ingesters, publisher, streamer

__all__ = ["bus_settings", "compactors", "ingesters", "publisher", "streamer"]
