from tests.integration.amqp_fixtures import bus_settings, ingesters, publisher

__all__ = ["bus_settings", "ingesters", "publisher"]
