"""The Faust app: broker/store configuration, catalog topics, codecs, web views and metrics.

No business logic lives here: topologies (`topologies/`) plug into the app built by `create_app`.
"""
