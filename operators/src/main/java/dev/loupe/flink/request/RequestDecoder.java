package dev.loupe.flink.request;

import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.failure.StageFailure;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.serde.AvroDeserializer;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * First stage for Avro-encoded requests (Kafka values): each value is decoded once and checked once by the
 * {@link RequestValidator}, in the same function. Undecodable bytes become an UNDECODABLE_RECORD failure carrying
 * the bytes verbatim; decodable but invalid requests become INVALID_REQUEST or UNSUPPORTED_OPTION failures with the
 * request id, as in {@link RequestValidation} (the stage for typed requests). Failures go to {@link Failures#TAG}.
 */
public final class RequestDecoder extends ProcessFunction<byte[], ValidatedRequest> {
    private final RequestValidator validator;
    private transient AvroDeserializer<AnnotationRequest> deserializer;

    public RequestDecoder(RequestValidator validator) {
        this.validator = validator;
    }

    @Override
    public void open(OpenContext openContext) {
        deserializer = new AvroDeserializer<>(AnnotationRequest.class);
    }

    @Override
    public void processElement(byte[] value, Context ctx, Collector<ValidatedRequest> out) {
        AnnotationRequest request;
        try {
            request = deserializer.deserialize(value);
            if (request == null) {
                throw new IllegalArgumentException("null record value");
            }
        } catch (RuntimeException e) {
            ctx.output(Failures.TAG, new StageFailure(null, Failures.DECODE, ErrorCode.UNDECODABLE_RECORD,
                    "cannot decode an AnnotationRequest: " + e.getMessage(), value == null ? new byte[0] : value,
                    Map.of()).toRecord(System.currentTimeMillis()));
            return;
        }
        try {
            out.collect(validator.validate(request));
        } catch (AnnotationException e) {
            ctx.output(Failures.TAG, RequestValidator.refusal(request, e).toRecord(System.currentTimeMillis()));
        }
    }
}
