package dev.loupe.flink.request;

import dev.loupe.flink.failure.Failures;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.schemas.AnnotationRequest;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * First stage for typed requests (bounded jobs, tests): each {@link AnnotationRequest} is checked once by the
 * {@link RequestValidator}; a refused one becomes an INVALID_REQUEST or UNSUPPORTED_OPTION failure on
 * {@link Failures#TAG}, with its id and metadata. {@link RequestDecoder} is the same stage for Avro bytes.
 */
public final class RequestValidation extends ProcessFunction<AnnotationRequest, ValidatedRequest> {
    private final RequestValidator validator;

    public RequestValidation(RequestValidator validator) {
        this.validator = validator;
    }

    @Override
    public void processElement(AnnotationRequest request, Context ctx, Collector<ValidatedRequest> out) {
        try {
            out.collect(validator.validate(request));
        } catch (AnnotationException e) {
            ctx.output(Failures.TAG, RequestValidator.refusal(request, e).toRecord(System.currentTimeMillis()));
        }
    }
}
