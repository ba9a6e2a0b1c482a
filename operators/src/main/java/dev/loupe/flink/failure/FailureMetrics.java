package dev.loupe.flink.failure;

import dev.loupe.schemas.AnnotationFailure;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * Counts the union of all stages' failures per error code (metric group {@code errorCode=<CODE>}, counter
 * {@code failures}) and passes them through unchanged.
 */
public final class FailureMetrics extends RichMapFunction<AnnotationFailure, AnnotationFailure> {
    private transient MetricGroup group;
    private transient Map<String, Counter> byCode;

    @Override
    public void open(OpenContext openContext) {
        group = getRuntimeContext().getMetricGroup();
        byCode = new HashMap<>();
    }

    @Override
    public AnnotationFailure map(AnnotationFailure failure) {
        byCode.computeIfAbsent(failure.getErrorCode(), code -> group.addGroup("errorCode", code).counter("failures"))
                .inc();
        return failure;
    }
}
