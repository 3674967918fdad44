"""Kafka clients behind one small typed seam (``clients.base``): producing, consuming and the
admin calls. Nothing above this package imports a Kafka client library."""
