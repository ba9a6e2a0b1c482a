package dev.loupe.schemas.registry;

/**
 * The schema registry could not answer usefully, for reasons that say nothing about the record at hand: it is
 * unreachable or failing after retries, refuses the credentials, or refuses to register a schema. Not a
 * {@link org.apache.kafka.common.errors.SerializationException}, so a streaming job fails and restarts from its
 * last checkpoint instead of turning good records into dead letters during a registry outage.
 */
public final class SchemaRegistryException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public SchemaRegistryException(String message) {
        super(message);
    }

    public SchemaRegistryException(String message, Throwable cause) {
        super(message, cause);
    }
}
