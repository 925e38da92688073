"""`MONITOR_KAFKA__*`: the broker, the topic and the consumer group."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class KafkaSettings(BaseModel):
    bootstrap_servers: str = Field("127.0.0.1:9092", description="host:port[,host:port...]")
    topic: str = Field("news", min_length=1)
    group_id: str = Field("monitor", min_length=1)
    partitions: int = Field(4, ge=1, description="partitions when the topic has to be created")
    max_poll_records: int = Field(512, ge=1, le=100_000)
    poll_timeout_ms: int = Field(200, ge=1)
    max_message_bytes: int = Field(1_000_000, ge=1024, description="larger values dead-letter")
    connect_timeout_s: float = Field(15.0, gt=0, description="start-up check of the broker")
    group_instance_id: str | None = Field(
        None,
        description="static group membership (KIP-345): a restarted consumer with the same id "
        "takes its partitions back at once, without a rebalance; unique per replica",
    )
    session_timeout_ms: int = Field(10_000, ge=1000, description="consumer group session timeout")
    max_poll_interval_ms: int = Field(
        300_000, ge=1000, description="most time one batch may take before the group rebalances"
    )

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port_list(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port")
        return value
