package dev.loupe.jobs.bounded;

import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.accumulators.LongMaximum;
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
 * {@link BoundedJobRunner} reads while the job runs, and passes every element through unchanged. Results also add
 * their batch size and stage times to sums ({@link ResultStages}), so the summary shows how full the batches were and
 * where the time went, and every outcome moves the job's last-outcome time ({@link ActiveSpan}). The counts are
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
    private final SerializableFunction<T, Map<String, Long>> sumsOf;
    private transient Map<String, LongCounter> counters;
    private transient LongMaximum lastOutcome;
    private transient long resumed;
    private transient ListState<Tuple2<String, Long>> state;

    /**
     * Counts elements under the outcome {@code outcomeOf} gives: {@link Progress#OK} or an error code. {@code name}
     * tells the counters of one job apart (unique per job).
     */
    public OutcomeCounter(String name, SerializableFunction<T, String> outcomeOf) {
        this(name, outcomeOf, value -> Map.of());
    }

    /** As {@link #OutcomeCounter(String, SerializableFunction)}, also adding the amounts {@code sumsOf} gives to sums. */
    public OutcomeCounter(String name, SerializableFunction<T, String> outcomeOf,
                          SerializableFunction<T, Map<String, Long>> sumsOf) {
        this.name = name;
        this.outcomeOf = outcomeOf;
        this.sumsOf = sumsOf;
    }

    /** Counts every result as {@link Progress#OK}. */
    public static DataStream<AnnotationResult> results(DataStream<AnnotationResult> results) {
        return results.map(new OutcomeCounter<AnnotationResult>("results", r -> Progress.OK, ResultStages::amounts),
                        results.getType())
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
                // checkpoints of earlier versions hold bare outcome names
                String accumulator = entry.f0.startsWith("loupe.") ? entry.f0 : Progress.OUTCOME_ACCUMULATOR_PREFIX + entry.f0;
                counter(accumulator).add(entry.f1);
                if (accumulator.startsWith(Progress.OUTCOME_ACCUMULATOR_PREFIX)) {
                    resumed += entry.f1;
                }
            }
        }
        LongCounter resumedCounter = new LongCounter(resumed);
        getRuntimeContext().addAccumulator(Progress.RESUMED_ACCUMULATOR_PREFIX + name, resumedCounter);
        lastOutcome = new LongMaximum(0);
        getRuntimeContext().addAccumulator(ActiveSpan.LAST_OUTCOME_ACCUMULATOR + "." + name, lastOutcome);
    }

    @Override
    public T map(T value) {
        counter(Progress.OUTCOME_ACCUMULATOR_PREFIX + outcomeOf.apply(value)).add(1);
        sumsOf.apply(value).forEach((sum, amount) -> counter(ResultStages.SUM_ACCUMULATOR_PREFIX + sum).add(amount));
        lastOutcome.add(System.currentTimeMillis());
        return value;
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        state.clear();
        for (Map.Entry<String, LongCounter> e : counters.entrySet()) {
            state.add(Tuple2.of(e.getKey(), e.getValue().getLocalValue()));
        }
    }

    /** The counter of an accumulator (an outcome's count or a sum), registered on first use. */
    private LongCounter counter(String accumulator) {
        return counters.computeIfAbsent(accumulator, a -> {
            LongCounter c = new LongCounter();
            getRuntimeContext().addAccumulator(a, c);
            return c;
        });
    }
}
