"""Kafka in: message contract, the batch pipeline, the consumer loop, the producer."""
