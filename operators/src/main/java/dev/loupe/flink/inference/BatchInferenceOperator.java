package dev.loupe.flink.inference;

import dev.loupe.flink.batch.Batch;
import dev.loupe.flink.batch.DynamicBatcher;
import dev.loupe.flink.batch.Scheduling;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.schemas.AnnotationResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.operators.ProcessingTimeService.ProcessingTimeCallback;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.operators.AbstractStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.OneInputStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.StreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;
import org.apache.flink.streaming.api.operators.legacy.YieldingOperatorFactory;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Batches prepared requests and runs the model on them, with the model on its own thread so that the task thread
 * goes on fetching, decoding and preprocessing the next requests while a batch computes. The {@link DynamicBatcher}
 * decides when the next batch starts: while the model is busy the buffer fills, so under backlog every batch is
 * full; when the model is idle, a partial batch starts once its oldest request has waited {@code batch.max-delay}.
 * Backpressure: with a whole batch buffered and the model busy, the task thread takes no more input until the model
 * finishes. Results and failures ({@link BatchInference}) are emitted on the task thread, through the mailbox.
 *
 * <p>Checkpoints hold the running batch and the buffer (operator list state), so a restore runs every request whose
 * result was not emitted before the checkpoint again, and none twice: together with a transactional sink this is
 * exactly-once. They keep each request's encoded image rather than its tensor (a 224x224 float tensor is 600 KB, a
 * 640x480 JPEG a tenth of that), and a restore preprocesses those images again. Build it with {@link Factory}, which
 * builds a {@link ContinuousInferenceOperator} instead under {@link Scheduling#CONTINUOUS}.
 */
public final class BatchInferenceOperator extends InferenceOperatorBase implements ProcessingTimeCallback {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(BatchInferenceOperator.class);

    private final DynamicBatcher.Fill fill;
    private transient DynamicBatcher<PreparedRequest> batcher;
    /** The batch the model is running, and when it was taken; null while the model is idle. */
    private transient Batch<PreparedRequest> running;
    private transient long runningTakenAt;
    private transient ScheduledFuture<?> timer;
    private transient long timerAt;
    /** Set at end of input: whatever is buffered starts as soon as the model is idle. */
    private transient boolean draining;

    private BatchInferenceOperator(StreamOperatorParameters<AnnotationResult> parameters, AnnotatorFactory factory,
            TypeInformation<PreparedRequest> elementType, int maxSize, Duration maxDelay, DynamicBatcher.Fill fill,
            MailboxExecutor mailbox) {
        super(parameters, factory, elementType, maxSize, maxDelay, mailbox);
        this.fill = fill;
    }

    @Override
    public void open() throws Exception {
        batcher = new DynamicBatcher<>(maxSize, maxDelay, fill);
        super.open();
        // restored requests start once their delay (counted from before the restart) is over
        startIfReady();
    }

    @Override
    protected void restore(List<DynamicBatcher.Entry<PreparedRequest>> entries) {
        batcher.restore(entries);
    }

    @Override
    protected List<DynamicBatcher.Entry<PreparedRequest>> pending() {
        List<DynamicBatcher.Entry<PreparedRequest>> entries = new ArrayList<>();
        if (running != null) {
            for (int i = 0; i < running.size(); i++) {
                entries.add(new DynamicBatcher.Entry<>(running.elements().get(i),
                        runningTakenAt - running.queueMillis()[i]));
            }
        }
        if (batcher != null) {
            entries.addAll(batcher.entries());
        }
        return entries;
    }

    @Override
    protected int buffered() {
        return batcher.size();
    }

    @Override
    protected void stopModel() {
        if (timer != null) {
            timer.cancel(false);
        }
    }

    @Override
    public void processElement(StreamRecord<PreparedRequest> element) throws Exception {
        batcher.add(element.getValue(), now());
        startIfReady();
        while (batcher.isFull() && running != null) {
            mailbox.yield();   // backpressure: runs this operator's mails, i.e. the running batch's completion
        }
    }

    @Override
    public void onProcessingTime(long time) {
        timer = null;
        startIfReady();
    }

    /** Runs everything buffered, ignoring the delay, and waits until the model is done. */
    @Override
    protected void drain() throws Exception {
        draining = true;
        while (running != null || !batcher.isEmpty()) {
            if (running == null) {
                start(now());
            } else {
                mailbox.yield();
            }
        }
    }

    /** Starts the next batch if the model is idle and the batcher is ready; otherwise keeps a timer for its delay. */
    private void startIfReady() {
        if (running != null || batcher.isEmpty()) {
            return;
        }
        long now = now();
        if (draining || batcher.ready(now)) {
            start(now);
        } else if (timer == null || batcher.deadline() < timerAt) {
            // a deadline that moved later (INPUT_PAUSED: each arrival) keeps the timer: when it fires, this
            // method runs again and waits for the new deadline
            if (timer != null) {
                timer.cancel(false);
            }
            timerAt = batcher.deadline();
            timer = getProcessingTimeService().registerTimer(timerAt, this);
        }
    }

    private void start(long now) {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        Batch<PreparedRequest> batch = batcher.take(now);
        running = batch;
        runningTakenAt = now;
        batchSizes.update(batch.size());
        for (long waited : batch.queueMillis()) {
            queueWaitMillis.update(waited);
        }
        modelThread.execute(() -> {
            BatchInference.Outcomes outcomes = null;
            Throwable error = null;
            try {
                outcomes = inference.run(batch);
            } catch (Throwable t) {
                error = t;
            }
            BatchInference.Outcomes done = outcomes;
            Throwable failed = error;
            try {
                mailbox.execute(() -> finished(batch, done, failed), "loupe batch of %d finished", batch.size());
            } catch (RejectedExecutionException closing) {
                LOG.debug("Task is closing; dropping the results of a batch of {} (they are in the checkpoint)",
                        batch.size());
            }
        });
    }

    /** On the task thread: starts the next batch if ready, then emits a finished batch's results and failures. */
    private void finished(Batch<PreparedRequest> batch, BatchInference.Outcomes outcomes, Throwable error)
            throws Exception {
        if (running != batch) {
            throw new IllegalStateException("a batch finished that is not the running one");
        }
        running = null;
        if (error != null) {
            // not a per-request failure (those are outcomes): fail the task, the restore runs the batch again
            throw new Exception("inference failed on a batch of " + batch.size(), error);
        }
        // the next batch first: the model computes it while this thread emits these outcomes (no checkpoint can fall
        // between the two, both are this one mail)
        startIfReady();
        emit(outcomes);
        for (PreparedRequest done : batch.elements()) {
            PixelBuffers.SHARED.give(done.pixels);   // its outcome is out, and nothing reads its pixels any more
            done.pixels = null;
        }
    }

    /**
     * Builds the inference operator with the task's mailbox, through which the model thread hands finished work back
     * to the task thread: this operator under {@link Scheduling#STATIC}, a {@link ContinuousInferenceOperator} under
     * {@link Scheduling#CONTINUOUS} ({@code maxSize} then being the most rows decoding at once, {@code maxDelay} how
     * long an idle loop waits to fill its first prefill). Both keep the same state, so a job may switch across a
     * restore.
     */
    public static final class Factory extends AbstractStreamOperatorFactory<AnnotationResult>
            implements OneInputStreamOperatorFactory<PreparedRequest, AnnotationResult>,
            YieldingOperatorFactory<AnnotationResult> {
        private static final long serialVersionUID = 1L;

        private final AnnotatorFactory factory;
        private final TypeInformation<PreparedRequest> elementType;
        private final int maxSize;
        private final Duration maxDelay;
        private final Scheduling scheduling;
        private final DynamicBatcher.Fill fill;

        /** Static batches. */
        public Factory(AnnotatorFactory factory, TypeInformation<PreparedRequest> elementType, int maxSize,
                Duration maxDelay) {
            this(factory, elementType, maxSize, maxDelay, Scheduling.STATIC);
        }

        /**
         * @throws IllegalArgumentException when {@code maxSize < 1} or {@code maxDelay} is negative
         */
        public Factory(AnnotatorFactory factory, TypeInformation<PreparedRequest> elementType, int maxSize,
                Duration maxDelay, Scheduling scheduling) {
            this(factory, elementType, maxSize, maxDelay, scheduling, DynamicBatcher.Fill.OLDEST_WAITED);
        }

        /**
         * As {@link #Factory(AnnotatorFactory, TypeInformation, int, Duration, Scheduling)}, static batches filling
         * as {@code fill} says (continuous batching admits rows by its own rule and ignores it).
         */
        public Factory(AnnotatorFactory factory, TypeInformation<PreparedRequest> elementType, int maxSize,
                Duration maxDelay, Scheduling scheduling, DynamicBatcher.Fill fill) {
            DynamicBatcher.checkSettings(maxSize, maxDelay);
            this.factory = factory;
            this.elementType = elementType;
            this.maxSize = maxSize;
            this.maxDelay = maxDelay;
            this.scheduling = java.util.Objects.requireNonNull(scheduling, "scheduling");
            this.fill = java.util.Objects.requireNonNull(fill, "fill");
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T extends StreamOperator<AnnotationResult>> T createStreamOperator(
                StreamOperatorParameters<AnnotationResult> parameters) {
            return (T) (scheduling == Scheduling.CONTINUOUS
                    ? new ContinuousInferenceOperator(parameters, factory, elementType, maxSize, maxDelay,
                            getMailboxExecutor())
                    : new BatchInferenceOperator(parameters, factory, elementType, maxSize, maxDelay, fill,
                            getMailboxExecutor()));
        }

        @Override
        @SuppressWarnings("rawtypes")
        public Class<? extends StreamOperator> getStreamOperatorClass(ClassLoader classLoader) {
            return scheduling == Scheduling.CONTINUOUS ? ContinuousInferenceOperator.class
                    : BatchInferenceOperator.class;
        }
    }
}
