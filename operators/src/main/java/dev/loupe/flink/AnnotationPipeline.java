package dev.loupe.flink;

import dev.loupe.flink.failure.FailureMetrics;
import dev.loupe.flink.failure.FailureSplitter;
import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.failure.Fallible;
import dev.loupe.flink.fetch.AsyncImageFetch;
import dev.loupe.flink.fetch.FetchedImage;
import dev.loupe.flink.inference.BatchInferenceOperator;
import dev.loupe.flink.inference.ImageThumbnail;
import dev.loupe.flink.inference.PreparedRequest;
import dev.loupe.flink.inference.PreprocessFunction;
import dev.loupe.flink.request.RequestDecoder;
import dev.loupe.flink.request.RequestValidation;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.serde.ValueFormat;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.typeinfo.TypeHint;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The annotation pipeline's operators, composed in one place between a source of requests and the sinks:
 * decode/validate ({@link #fromAvro} for Avro bytes, {@link #fromRequests} for typed requests) → async image fetch
 * → decode + preprocess → batching and inference (the model on its own thread, overlapping the next requests' fetch
 * and preprocessing). Every stage's failures are unioned into {@link Outputs#failures()}; sources, sinks and checkpointing are the caller's (the Kafka job, a
 * bounded job, a test). Every type between the operators has a Flink POJO or Avro serializer, so the job runs with
 * {@code pipeline.generic-types: false} (no Kryo). In-flight work is bounded: the async fetch holds at most
 * {@code loupe.fetch.concurrency} requests and the inference operator at most two batches (one running, one
 * filling), so a slow inference
 * operator backpressures the source.
 */
public final class AnnotationPipeline {
    public static final AvroTypeInfo<AnnotationRequest> REQUEST_TYPE = new AvroTypeInfo<>(AnnotationRequest.class);
    public static final AvroTypeInfo<AnnotationResult> RESULT_TYPE = new AvroTypeInfo<>(AnnotationResult.class);
    private static final TypeInformation<ValidatedRequest> VALIDATED_TYPE = TypeInformation.of(ValidatedRequest.class);

    private AnnotationPipeline() {}

    /**
     * The pipeline's outputs: one result per successful request, one failure record per failed one, and, when
     * {@link PipelineOptions#thumbnailSize()} asks for them, a thumbnail per image that preprocessed (else empty).
     */
    public record Outputs(DataStream<AnnotationResult> results, DataStream<AnnotationFailure> failures,
                          DataStream<ImageThumbnail> thumbnails) {}

    /**
     * The pipeline over Avro-encoded {@link AnnotationRequest}s, e.g. Kafka record values: each value is decoded
     * once and validated once, in the first operator; a value that does not decode becomes one UNDECODABLE_RECORD
     * failure carrying the raw bytes.
     */
    public static Outputs fromAvro(DataStream<byte[]> requestValues, AnnotatorFactory factory, PipelineOptions options) {
        return fromAvro(requestValues, ValueFormat.PLAIN_AVRO, factory, options);
    }

    /**
     * As {@link #fromAvro(DataStream, AnnotatorFactory, PipelineOptions)}, with values in {@code format}, e.g. a
     * schema registry's wire format, where a value with an unknown schema id is also one UNDECODABLE_RECORD failure.
     */
    public static Outputs fromAvro(DataStream<byte[]> requestValues, ValueFormat format, AnnotatorFactory factory,
            PipelineOptions options) {
        Objects.requireNonNull(requestValues, "requestValues");
        Objects.requireNonNull(format, "format");
        check(factory, options);
        return annotate(requestValues
                .process(new RequestDecoder(options.requestValidator(factory.taskDefaults()), format), VALIDATED_TYPE)
                .name("decode-requests").uid("loupe-decode"), factory, options);
    }

    /**
     * The pipeline over typed requests, e.g. built by a bounded job from its inputs: each request is validated once
     * in the first operator, with no Avro encoding on the way (type them with {@link #REQUEST_TYPE}).
     */
    public static Outputs fromRequests(DataStream<AnnotationRequest> requests, AnnotatorFactory factory,
            PipelineOptions options) {
        Objects.requireNonNull(requests, "requests");
        check(factory, options);
        return annotate(requests
                .process(new RequestValidation(options.requestValidator(factory.taskDefaults())), VALIDATED_TYPE)
                .name("validate-requests").uid("loupe-validate"), factory, options);
    }

    private static void check(AnnotatorFactory factory, PipelineOptions options) {
        Objects.requireNonNull(factory, "factory");
        Objects.requireNonNull(options, "options");
    }

    /** Everything after the first stage, whose failures are unioned with every later stage's. */
    private static Outputs annotate(SingleOutputStreamOperator<ValidatedRequest> decoded, AnnotatorFactory factory,
            PipelineOptions options) {
        SingleOutputStreamOperator<Fallible<FetchedImage>> fetchedOrFailed = AsyncDataStream
                .unorderedWait(decoded, new AsyncImageFetch(options.fetch()), options.fetchTimeout().toMillis(),
                        TimeUnit.MILLISECONDS, options.fetchConcurrency())
                .returns(new TypeHint<Fallible<FetchedImage>>() {})
                .name("fetch-images").uid("loupe-fetch");

        SingleOutputStreamOperator<FetchedImage> fetched = fetchedOrFailed
                .process(new FailureSplitter<FetchedImage>(), TypeInformation.of(FetchedImage.class))
                .name("fetch-failures").uid("loupe-fetch-split");

        SingleOutputStreamOperator<PreparedRequest> prepared = fetched
                .process(new PreprocessFunction(factory, options.thumbnailSize(), options.taskNiceness()), TypeInformation.of(PreparedRequest.class))
                .name("preprocess-images").uid("loupe-preprocess");

        // the uid is the former batcher's: its savepoints restore their buffered requests into this operator
        SingleOutputStreamOperator<AnnotationResult> results = prepared
                .transform("inference", RESULT_TYPE, new BatchInferenceOperator.Factory(factory, prepared.getType(),
                        options.batchMaxSize(), options.batchMaxDelay(), options.scheduling(), options.batchFill()))
                .uid("loupe-batcher");

        DataStream<AnnotationFailure> failures = decoded.getSideOutput(Failures.TAG)
                .union(fetched.getSideOutput(Failures.TAG),
                        prepared.getSideOutput(Failures.TAG),
                        results.getSideOutput(Failures.TAG))
                .map(new FailureMetrics(), Failures.TYPE)
                .name("failure-metrics").uid("loupe-failure-metrics");

        return new Outputs(results, failures, prepared.getSideOutput(PreprocessFunction.THUMBNAILS));
    }
}
