package dev.loupe.jobs.bounded;

import java.time.Duration;
import java.util.Map;
import org.apache.flink.api.common.accumulators.LongMinimum;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.streaming.api.datastream.DataStream;

/**
 * When a bounded job's work ran: from its first input read (wall clock, ms) to its last outcome counted. A job's
 * wall time also holds its start-up (MiniCluster, model load) and, on a short run, that start-up is a large part of
 * it; throughput over this span is what the pipeline sustains. {@link #markReads} records the first read, and
 * {@link OutcomeCounter} the last outcome, as accumulators (min and max over the subtasks).
 *
 * @param firstReadMillis epoch ms of the first input read; {@link Long#MAX_VALUE} when none was
 * @param lastOutcomeMillis epoch ms of the last outcome counted; 0 when none was
 */
public record ActiveSpan(long firstReadMillis, long lastOutcomeMillis) {
    /** Accumulator of the first read (a {@link LongMinimum} of epoch ms). */
    public static final String FIRST_READ_ACCUMULATOR = "loupe.time.first-read-ms";
    /** Prefix of the accumulators of the last outcome (a {@code LongMaximum} of epoch ms per counter). */
    public static final String LAST_OUTCOME_ACCUMULATOR = "loupe.time.last-outcome-ms";

    /** Nothing read, nothing counted. */
    public static final ActiveSpan NONE = new ActiveSpan(Long.MAX_VALUE, 0);

    /** Whether both ends were recorded in order. */
    public boolean known() {
        return firstReadMillis != Long.MAX_VALUE && lastOutcomeMillis > 0 && lastOutcomeMillis >= firstReadMillis;
    }

    /** From the first read to the last outcome; zero when not {@link #known()}. */
    public Duration duration() {
        return known() ? Duration.ofMillis(lastOutcomeMillis - firstReadMillis) : Duration.ZERO;
    }

    static ActiveSpan fromAccumulators(Map<String, Object> accumulators) {
        long last = 0;
        for (Map.Entry<String, Object> e : accumulators.entrySet()) {
            if (e.getKey().startsWith(LAST_OUTCOME_ACCUMULATOR) && e.getValue() instanceof Number n) {
                last = Math.max(last, n.longValue());
            }
        }
        return new ActiveSpan(accumulators.get(FIRST_READ_ACCUMULATOR) instanceof Number n ? n.longValue() : Long.MAX_VALUE,
                last);
    }

    /**
     * {@code reads} unchanged, recording when the first element passed (place it right after the job's source,
     * where it chains with it).
     */
    public static <T> DataStream<T> markReads(DataStream<T> reads, String uid) {
        return reads.map(new FirstRead<T>(), reads.getType()).name("mark-first-read").uid(uid);
    }

    /** Records the wall-clock time of its first element into {@link #FIRST_READ_ACCUMULATOR}. */
    static final class FirstRead<T> extends RichMapFunction<T, T> {
        private static final long serialVersionUID = 1L;
        private transient LongMinimum first;
        private transient boolean marked;

        @Override
        public void open(OpenContext openContext) {
            first = new LongMinimum();
            getRuntimeContext().addAccumulator(FIRST_READ_ACCUMULATOR, first);
        }

        @Override
        public T map(T value) {
            if (!marked) {
                first.add(System.currentTimeMillis());
                marked = true;
            }
            return value;
        }
    }
}
