package dev.loupe.flink.request;

import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.failure.StageFailure;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.registry.SchemaRegistryException;
import dev.loupe.schemas.serde.ValueFormat;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * First stage for Avro-encoded requests (Kafka values): each value is decoded once and checked once by the
 * {@link RequestValidator}, in the same function. Undecodable bytes become an UNDECODABLE_RECORD failure carrying
 * the bytes verbatim; decodable but invalid requests become INVALID_REQUEST or UNSUPPORTED_OPTION failures with the
 * request id, as in {@link RequestValidation} (the stage for typed requests). Failures go to {@link Failures#TAG}.
 * The values are plain Avro or in a schema registry's wire format ({@link ValueFormat}); a registry that cannot be
 * asked ({@link SchemaRegistryException}) fails the task, so the job restarts from its last checkpoint rather than
 * dead-lettering good requests during a registry outage.
 */
public final class RequestDecoder extends ProcessFunction<byte[], ValidatedRequest> {
    private final RequestValidator validator;
    private final ValueFormat format;
    private transient Deserializer<AnnotationRequest> deserializer;

    /** A decoder of plain Avro values. */
    public RequestDecoder(RequestValidator validator) {
        this(validator, ValueFormat.PLAIN_AVRO);
    }

    public RequestDecoder(RequestValidator validator, ValueFormat format) {
        this.validator = validator;
        this.format = Objects.requireNonNull(format, "format");
    }

    @Override
    public void open(OpenContext openContext) {
        deserializer = format.deserializer(AnnotationRequest.class);
    }

    @Override
    public void processElement(byte[] value, Context ctx, Collector<ValidatedRequest> out) {
        AnnotationRequest request;
        try {
            request = deserializer.deserialize(null, value);
            if (request == null) {
                throw new IllegalArgumentException("null record value");
            }
        } catch (SchemaRegistryException e) {
            throw e; // says nothing about the value: restart from the checkpoint and read it again
        } catch (RuntimeException e) {
            ctx.output(Failures.TAG, new StageFailure(null, Failures.DECODE, ErrorCode.UNDECODABLE_RECORD,
                    "cannot decode an AnnotationRequest: " + e.getMessage(), value == null ? new byte[0] : value,
                    Map.of()).toRecord(System.currentTimeMillis()));
            return;
        }
        try {
            out.collect(validator.validateDecoded(request));   // decoded here: its image need not be copied
        } catch (AnnotationException e) {
            ctx.output(Failures.TAG, RequestValidator.refusal(request, e).toRecord(System.currentTimeMillis()));
        }
    }
}
