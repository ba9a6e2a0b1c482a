package dev.loupe.schemas.registry;

import org.apache.kafka.common.errors.SerializationException;

/**
 * The registry answered that it has no schema with a value's schema id (HTTP 404): the value itself is unreadable,
 * so it is a {@link SerializationException} (a dead letter), unlike an unreachable registry.
 */
public final class SchemaNotFoundException extends SerializationException {

    private static final long serialVersionUID = 1L;

    public SchemaNotFoundException(String message) {
        super(message);
    }
}
