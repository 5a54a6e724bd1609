"""The live dashboard: samples the running pipeline once a second (request outcomes from the
services' /metrics, offsets from Kafka, rows from PostgreSQL, stock and workers from Redis)
and pushes each sample to browsers over server-sent events, where uPlot draws the peak
shaving: the inbound spike, the flat DB line, the backlog draining."""
