package dev.loupe.jobs.bounded;

import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeHint;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.util.function.SerializableFunction;

/**
 * Counts a bounded job's outputs by outcome ({@code ok}, or the failure's error code) into accumulators that
 * {@link BoundedJobRunner} reads while the job runs, and passes every element through unchanged. The counts are
 * checkpointed, so after a restart or a resumed run they continue from the restored checkpoint (rows replayed
 * after it are counted once, like the sinks write them once). Place it right before the sinks:
 * {@code OutcomeCounter.results(outputs.results())} and {@code OutcomeCounter.failures(outputs.failures())}.
 *
 * @param <T> the element type
 */
public final class OutcomeCounter<T> extends RichMapFunction<T, T> implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final SerializableFunction<T, String> outcomeOf;
    private transient Map<String, LongCounter> counters;
    private transient long resumed;
    private transient ListState<Tuple2<String, Long>> state;

    /**
     * Counts elements under the outcome {@code outcomeOf} gives: {@link Progress#OK} or an error code. {@code name}
     * tells the counters of one job apart (unique per job).
     */
    public OutcomeCounter(String name, SerializableFunction<T, String> outcomeOf) {
        this.name = name;
        this.outcomeOf = outcomeOf;
    }

    /** Counts every result as {@link Progress#OK}. */
    public static DataStream<AnnotationResult> results(DataStream<AnnotationResult> results) {
        return results.map(new OutcomeCounter<AnnotationResult>("results", r -> Progress.OK), results.getType())
                .name("count-results").uid("loupe-count-results");
    }

    /** Counts every failure under its error code. */
    public static DataStream<AnnotationFailure> failures(DataStream<AnnotationFailure> failures) {
        return failures.map(new OutcomeCounter<AnnotationFailure>("failures", f -> f.getErrorCode().toString()), failures.getType())
                .name("count-failures").uid("loupe-count-failures");
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        state = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("outcome-counts",
                TypeInformation.of(new TypeHint<Tuple2<String, Long>>() {})));
        counters = new HashMap<>();
        resumed = 0;
        if (context.isRestored()) {
            for (Tuple2<String, Long> entry : state.get()) {
                counter(entry.f0).add(entry.f1);
                resumed += entry.f1;
            }
        }
        LongCounter resumedCounter = new LongCounter(resumed);
        getRuntimeContext().addAccumulator(Progress.RESUMED_ACCUMULATOR_PREFIX + name, resumedCounter);
    }

    @Override
    public T map(T value) {
        counter(outcomeOf.apply(value)).add(1);
        return value;
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        state.clear();
        for (Map.Entry<String, LongCounter> e : counters.entrySet()) {
            state.add(Tuple2.of(e.getKey(), e.getValue().getLocalValue()));
        }
    }

    private LongCounter counter(String outcome) {
        return counters.computeIfAbsent(outcome, o -> {
            LongCounter c = new LongCounter();
            getRuntimeContext().addAccumulator(Progress.OUTCOME_ACCUMULATOR_PREFIX + o, c);
            return c;
        });
    }
}
