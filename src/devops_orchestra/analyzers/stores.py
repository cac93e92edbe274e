"""Data stores and external services: what the code talks to, from dependencies, images, IaC and URLs."""

from __future__ import annotations

from dataclasses import dataclass

from devops_orchestra.models.architecture import Dependency

DATABASE, CACHE, QUEUE, OBJECTS, SEARCH, SERVICE = (
    "database", "cache", "queue", "object storage", "search", "external service")

_P, _M, _R, _MG = ("PostgreSQL", DATABASE), ("MySQL", DATABASE), ("Redis", CACHE), ("MongoDB", DATABASE)
_K, _Q, _S3, _ES = ("Kafka", QUEUE), ("RabbitMQ", QUEUE), ("S3", OBJECTS), ("Elasticsearch", SEARCH)

# (ecosystem, normalised package name or import path prefix) -> (store, kind)
BY_DEPENDENCY: dict[str, dict[str, tuple[str, str]]] = {
    "pypi": {
        "psycopg2": _P, "psycopg2-binary": _P, "psycopg": _P, "asyncpg": _P, "pg8000": _P,
        "mysqlclient": _M, "mysqldb": _M, "pymysql": _M, "mysql-connector-python": _M, "mysql": _M, "aiomysql": _M,
        "redis": _R, "aioredis": _R, "pymongo": _MG, "motor": _MG, "mongoengine": _MG,
        "kafka-python": _K, "kafka": _K, "confluent-kafka": _K, "aiokafka": _K, "pika": _Q, "aio-pika": _Q,
        "elasticsearch": _ES, "opensearch-py": ("OpenSearch", SEARCH), "cassandra-driver": ("Cassandra", DATABASE),
        "cassandra": ("Cassandra", DATABASE), "pymemcache": ("Memcached", CACHE), "boto3": ("AWS", SERVICE),
        "google-cloud-storage": ("Google Cloud Storage", OBJECTS), "stripe": ("Stripe", SERVICE),
        "twilio": ("Twilio", SERVICE), "sendgrid": ("SendGrid", SERVICE), "openai": ("OpenAI", SERVICE),
        "anthropic": ("Anthropic", SERVICE), "sentry-sdk": ("Sentry", SERVICE),
        "sqlite3": ("SQLite", DATABASE),
    },
    "npm": {
        "pg": _P, "postgres": _P, "mysql": _M, "mysql2": _M, "redis": _R, "ioredis": _R, "mongodb": _MG,
        "mongoose": _MG, "kafkajs": _K, "amqplib": _Q, "@aws-sdk/client-s3": _S3, "aws-sdk": ("AWS", SERVICE),
        "stripe": ("Stripe", SERVICE), "@elastic/elasticsearch": _ES, "sqlite3": ("SQLite", DATABASE),
        "better-sqlite3": ("SQLite", DATABASE), "@sendgrid/mail": ("SendGrid", SERVICE), "twilio": ("Twilio", SERVICE),
        "openai": ("OpenAI", SERVICE), "@sentry/node": ("Sentry", SERVICE),
    },
    "go": {
        "github.com/lib/pq": _P, "github.com/jackc/pgx": _P, "github.com/go-sql-driver/mysql": _M,
        "github.com/go-redis/redis": _R, "github.com/redis/go-redis": _R, "go.mongodb.org/mongo-driver": _MG,
        "github.com/segmentio/kafka-go": _K, "github.com/Shopify/sarama": _K, "github.com/IBM/sarama": _K,
        "github.com/confluentinc/confluent-kafka-go": _K, "github.com/streadway/amqp": _Q,
        "github.com/rabbitmq/amqp091-go": _Q, "github.com/aws/aws-sdk-go-v2/service/s3": _S3,
        "github.com/aws/aws-sdk-go/service/s3": _S3, "github.com/stripe/stripe-go": ("Stripe", SERVICE),
        "github.com/mattn/go-sqlite3": ("SQLite", DATABASE),
    },
    "maven": {
        "org.postgresql:postgresql": _P, "mysql:mysql-connector-java": _M, "com.mysql:mysql-connector-j": _M,
        "org.springframework.boot:spring-boot-starter-data-redis": _R, "org.springframework.kafka:spring-kafka": _K,
        "org.apache.kafka:kafka-clients": _K, "org.springframework.boot:spring-boot-starter-amqp": _Q,
        "software.amazon.awssdk:s3": _S3, "com.stripe:stripe-java": ("Stripe", SERVICE),
        "org.springframework.boot:spring-boot-starter-data-mongodb": _MG,
    },
}

# last part of a container image's repository -> store
BY_IMAGE = {
    "postgres": _P, "postgresql": _P, "postgis": _P, "mysql": _M, "mariadb": ("MariaDB", DATABASE), "redis": _R,
    "valkey": _R, "mongo": _MG, "mongodb": _MG, "rabbitmq": _Q, "kafka": _K, "cp-kafka": _K, "cp-server": _K,
    "elasticsearch": _ES, "opensearch": ("OpenSearch", SEARCH), "memcached": ("Memcached", CACHE),
    "minio": ("MinIO (S3)", OBJECTS), "cassandra": ("Cassandra", DATABASE), "nats": ("NATS", QUEUE),
}

BY_SCHEME = {
    "postgres": _P, "postgresql": _P, "mysql": _M, "mariadb": ("MariaDB", DATABASE), "redis": _R, "rediss": _R,
    "amqp": _Q, "amqps": _Q, "mongodb": _MG, "mongodb+srv": _MG, "kafka": _K, "s3": _S3,
}

# Terraform resource type -> store (engine-dependent ones are read from the body)
BY_TERRAFORM = {
    "aws_s3_bucket": _S3, "aws_elasticache_cluster": _R, "aws_elasticache_replication_group": _R,
    "aws_msk_cluster": _K, "aws_sqs_queue": ("SQS", QUEUE), "aws_sns_topic": ("SNS", QUEUE),
    "aws_dynamodb_table": ("DynamoDB", DATABASE), "aws_mq_broker": _Q, "aws_opensearch_domain": ("OpenSearch", SEARCH),
    "google_storage_bucket": ("Google Cloud Storage", OBJECTS), "google_pubsub_topic": ("Pub/Sub", QUEUE),
    "azurerm_storage_account": ("Azure Storage", OBJECTS), "azurerm_redis_cache": _R,
    "azurerm_postgresql_server": _P, "azurerm_postgresql_flexible_server": _P, "azurerm_mysql_server": _M,
}
_ENGINES = {"postgres": _P, "aurora-postgresql": _P, "mysql": _M, "aurora-mysql": _M, "aurora": _M,
            "mariadb": ("MariaDB", DATABASE), "redis": _R, "memcached": ("Memcached", CACHE)}
_ENGINE_TYPES = ("aws_db_instance", "aws_rds_cluster", "aws_elasticache_cluster", "google_sql_database_instance")


@dataclass(frozen=True)
class Sighting:
    """A sign that a data store is in use or provided: which store, of which kind, where."""

    store: str
    kind: str
    evidence: str  # "path:line what"
    path: str
    line: int = 1
    host: str | None = None
    used: bool = True  # False: infrastructure that provides the store, not code that talks to it


def from_dependency(dep: Dependency) -> Sighting | None:
    """The data store a dependency is a client of, or None."""
    table = BY_DEPENDENCY.get(dep.ecosystem, {})
    name = dep.name if dep.ecosystem in ("go", "maven") else dep.name.lower().replace("_", "-")
    hit = table.get(name)
    if hit is None and dep.ecosystem == "go":
        hit = next((v for k, v in table.items() if name.startswith(k + "/")), None)
    if hit is None:
        return None
    return Sighting(*hit, f"{dep.where.path}:{dep.where.line} {dep.name}", dep.where.path, dep.where.line)


def from_image(image: str) -> tuple[str, str] | None:
    """(store, kind) a container image runs, e.g. postgres:16 -> PostgreSQL; None if not a known one."""
    repo = image.split("@")[0]
    repo = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
    return BY_IMAGE.get(repo.rsplit("/", 1)[-1].lower())


def from_url(scheme: str, host: str, path: str, line: int) -> Sighting | None:
    """The data store a connection URL's scheme names (postgres://, redis://, ...), or None."""
    hit = BY_SCHEME.get(scheme)
    if hit is None:
        return None
    return Sighting(*hit, f"{path}:{line} {scheme}://{host}", path, line, host)


def from_terraform(rtype: str, body: dict[str, object], path: str, line: int) -> Sighting | None:
    """The data store a Terraform resource provides (an RDS instance's engine, a bucket, ...), or None."""
    hit = BY_TERRAFORM.get(rtype)
    if rtype in _ENGINE_TYPES:
        engine = str(body.get("engine") or body.get("database_version") or "").strip('"').lower()
        hit = _ENGINES.get(engine) or next((v for k, v in _ENGINES.items() if engine.startswith(k)), hit)
    if hit is None:
        return None
    return Sighting(*hit, f"{path}:{line} {rtype}", path, line, used=False)
