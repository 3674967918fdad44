"""Kafka clients behind one small typed seam (``clients.base``): producing, consuming and the
admin calls. What ridectl knows of each client is its record in ``clients.registry``; setting
names are ``clients.setting_names`` constants. Nothing above this package imports a Kafka
client library."""
