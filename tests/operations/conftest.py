from tests.integration.amqp_fixtures import bus_settings, publisher

__all__ = ["bus_settings", "publisher"]
