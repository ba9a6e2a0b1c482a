package dev.loupe.jobs.caption;

import dev.loupe.flink.failure.Failures;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Passes the source's requests on to the pipeline and turns entries the source could not read into failure records
 * (stage {@code fetch}) on {@link #FAILURES}, to be unioned with the pipeline's.
 */
final class SourceFailureSplitter extends ProcessFunction<SourcedImage, AnnotationRequest> {
    static final OutputTag<AnnotationFailure> FAILURES = new OutputTag<>("caption-source-failures", Failures.TYPE);

    @Override
    public void processElement(SourcedImage image, Context ctx, Collector<AnnotationRequest> out) {
        if (image.errorCode == null) {
            out.collect(image.request);
            return;
        }
        Map<String, String> metadata = new HashMap<>();
        metadata.put(RequestTemplate.SEQUENCE_KEY, image.sequence);
        if (image.sample != null) {
            metadata.put(RequestTemplate.SAMPLE_KEY, image.sample);
        }
        ctx.output(FAILURES, AnnotationFailure.newBuilder()
                .setId(image.id)
                .setStage(Failures.FETCH)
                .setErrorCode(image.errorCode)
                .setMessage(image.errorMessage)
                .setTimestampMillis(System.currentTimeMillis())
                .setMetadata(metadata)
                .build());
    }
}
