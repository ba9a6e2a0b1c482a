package dev.loupe.flink.batch;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import org.apache.flink.api.common.operators.ProcessingTimeService.ProcessingTimeCallback;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.typeutils.TupleTypeInfo;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Groups elements into {@link Batch}es for inference: a batch is emitted as soon as it holds {@code maxSize}
 * elements, when {@code maxDelay} has passed since its first element arrived (a processing-time timer), or at end of
 * input. It runs per subtask on a non-keyed stream: a batch may mix any requests (the model is batch invariant), and
 * keying would split the buffer into many small per-key batches and add a shuffle for nothing. Buffered elements
 * are operator list state, so a restore from a checkpoint neither loses nor repeats them. The buffer never exceeds
 * {@code maxSize}: the element that fills it is emitted synchronously, which is how backpressure reaches upstream.
 */
public final class DynamicBatcher<T> extends AbstractStreamOperator<Batch<T>>
        implements OneInputStreamOperator<T, Batch<T>>, BoundedOneInput, ProcessingTimeCallback {
    private static final long serialVersionUID = 1L;

    /** The configuration keys of {@code maxSize} and {@code maxDelay}, named in validation messages. */
    public static final String MAX_SIZE_KEY = "batch.max-size";
    public static final String MAX_DELAY_KEY = "batch.max-delay";

    private final TypeInformation<T> elementType;
    private final int maxSize;
    private final long maxDelayMillis;

    private transient List<T> buffer;
    private transient List<Long> enqueuedAt;
    private transient ListState<Tuple2<T, Long>> bufferState;
    private transient ScheduledFuture<?> timer;
    private transient Histogram batchSizes;
    private transient Histogram queueWaitMillis;

    public DynamicBatcher(TypeInformation<T> elementType, int maxSize, Duration maxDelay) {
        if (maxSize < 1) {
            throw new IllegalArgumentException(MAX_SIZE_KEY + " must be >= 1, got " + maxSize);
        }
        if (maxDelay == null || maxDelay.isNegative()) {
            throw new IllegalArgumentException(MAX_DELAY_KEY + " must be >= 0, got " + maxDelay);
        }
        this.elementType = elementType;
        this.maxSize = maxSize;
        this.maxDelayMillis = maxDelay.toMillis();
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        bufferState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>(
                "loupe-batcher-buffer", new TupleTypeInfo<Tuple2<T, Long>>(elementType, Types.LONG)));
        buffer = new ArrayList<>(maxSize);
        enqueuedAt = new ArrayList<>(maxSize);
        if (context.isRestored()) {
            for (Tuple2<T, Long> entry : bufferState.get()) {
                buffer.add(entry.f0);
                enqueuedAt.add(entry.f1);
            }
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        batchSizes = getMetricGroup().histogram("batchSize", new DescriptiveStatisticsHistogram(1024));
        queueWaitMillis = getMetricGroup().histogram("queueWaitMillis", new DescriptiveStatisticsHistogram(1024));
        if (!buffer.isEmpty()) {
            // restored elements: emit them once their delay (counted from before the restart) is over
            scheduleFlush();
        }
    }

    @Override
    public void processElement(StreamRecord<T> element) {
        buffer.add(element.getValue());
        enqueuedAt.add(now());
        if (buffer.size() >= maxSize) {
            flush();
        } else if (buffer.size() == 1) {
            scheduleFlush();
        }
    }

    @Override
    public void onProcessingTime(long time) {
        if (!buffer.isEmpty() && time >= enqueuedAt.get(0) + maxDelayMillis) {
            flush();
        }
    }

    @Override
    public void endInput() {
        flush();
    }

    @Override
    public void finish() throws Exception {
        flush();
        super.finish();
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        List<Tuple2<T, Long>> entries = new ArrayList<>(buffer.size());
        for (int i = 0; i < buffer.size(); i++) {
            entries.add(Tuple2.of(buffer.get(i), enqueuedAt.get(i)));
        }
        bufferState.update(entries);
    }

    /** Elements currently buffered (for tests and diagnostics). */
    int buffered() {
        return buffer.size();
    }

    private void scheduleFlush() {
        timer = getProcessingTimeService().registerTimer(enqueuedAt.get(0) + maxDelayMillis, this);
    }

    /** Emits everything buffered, in batches of at most maxSize (more than one only after a restore). */
    private void flush() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        long now = now();
        for (int from = 0; from < buffer.size(); from += maxSize) {
            int to = Math.min(buffer.size(), from + maxSize);
            long[] waited = new long[to - from];
            for (int i = from; i < to; i++) {
                waited[i - from] = Math.max(0, now - enqueuedAt.get(i));
                queueWaitMillis.update(waited[i - from]);
            }
            batchSizes.update(to - from);
            output.collect(new StreamRecord<>(new Batch<>(buffer.subList(from, to), waited)));
        }
        buffer.clear();
        enqueuedAt.clear();
    }

    private long now() {
        return getProcessingTimeService().getCurrentProcessingTime();
    }
}
