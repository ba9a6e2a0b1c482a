package dev.loupe.jobs;

import dev.loupe.config.JobOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;

/**
 * Whether a job's chained operators hand records over by reference, set in one place for every Loupe job (the
 * streaming, caption and enrich jobs' environment configuration) from {@link JobOptions#OBJECT_REUSE}. A job's
 * operators all run in one chain per subtask; without object reuse Flink copies each record through its serializer
 * at every hop of the chain: the image bytes up to preprocessing, then the 600 KB pixel tensor and the encoded image
 * into the inference operator, whose recycled pixel arrays ({@code PixelBuffers}) would then recycle the copies and
 * leave the pooled originals to the collector.
 *
 * <p>Object reuse is safe because every operator of the jobs keeps to what it forbids:
 * <ul>
 *   <li>no operator changes a record after emitting it, and none changes a record it received except the inference
 *       operator, which alone holds its {@code PreparedRequest}s and clears their pixels once their outcomes are out;
 *   <li>operators that keep input records across calls (the inference operators' batches, the async fetch's queue)
 *       get a new object per record from upstream: every function and source creates its outputs anew (the Kafka
 *       deserializer, the caption source's reader, the enrich job's line reader), and Flink's async operator copies
 *       its inputs itself under object reuse;
 *   <li>records sent to several consumers (failures unioned from every stage, side outputs of thumbnails and
 *       failures) are read, never changed, by each; results and failures get their own copy of the request's
 *       metadata map.
 * </ul>
 * An operator added to a job must keep to the same rules, or run with {@code loupe.object-reuse: false}.
 */
public final class ObjectReuse {
    private ObjectReuse() {}

    /** Sets Flink's {@code pipeline.object-reuse} in a job's environment {@code configuration}; returns it. */
    public static Configuration set(Configuration configuration, boolean enabled) {
        configuration.set(PipelineOptions.OBJECT_REUSE, enabled);
        return configuration;
    }
}
