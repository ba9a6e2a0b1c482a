package dev.loupe.flink.inference;

import dev.loupe.flink.batch.Batch;
import dev.loupe.flink.batch.DynamicBatcher;
import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.fetch.FetchedImage;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.operators.ProcessingTimeService.ProcessingTimeCallback;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.typeutils.TupleTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.AbstractStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
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
 * 640x480 JPEG a tenth of that), and a restore preprocesses those images again. Build it with {@link Factory}.
 */
public final class BatchInferenceOperator extends AbstractStreamOperator<AnnotationResult>
        implements OneInputStreamOperator<PreparedRequest, AnnotationResult>, BoundedOneInput, ProcessingTimeCallback {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(BatchInferenceOperator.class);
    /** How long closing waits for a running batch before leaving the annotator open rather than freeing it under it. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(60);

    private final AnnotatorFactory factory;
    private final TypeInformation<PreparedRequest> elementType;
    private final int maxSize;
    private final Duration maxDelay;
    private final transient MailboxExecutor mailbox;

    private transient DynamicBatcher<PreparedRequest> batcher;
    private transient ListState<Tuple2<FetchedImage, Long>> pendingState;
    /** Restored requests, preprocessed again in {@link #open}. */
    private transient List<Tuple2<FetchedImage, Long>> restored;
    private transient BatchAnnotator annotator;
    private transient BatchInference inference;
    private transient ExecutorService modelThread;
    /** The batch the model is running, and when it was taken; null while the model is idle. */
    private transient Batch<PreparedRequest> running;
    private transient long runningTakenAt;
    private transient ScheduledFuture<?> timer;
    private transient long timerAt;
    /** Set at end of input: whatever is buffered starts as soon as the model is idle. */
    private transient boolean draining;
    private transient Histogram batchSizes;
    private transient Histogram queueWaitMillis;
    private transient Histogram inferenceMillis;
    private transient Counter images;
    private transient volatile boolean closed;

    private BatchInferenceOperator(StreamOperatorParameters<AnnotationResult> parameters, AnnotatorFactory factory,
            TypeInformation<PreparedRequest> elementType, int maxSize, Duration maxDelay, MailboxExecutor mailbox) {
        super(parameters);
        this.factory = factory;
        this.elementType = elementType;
        this.maxSize = maxSize;
        this.maxDelay = maxDelay;
        this.mailbox = mailbox;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        pendingState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("loupe-inference-pending",
                new TupleTypeInfo<Tuple2<FetchedImage, Long>>(TypeInformation.of(FetchedImage.class), Types.LONG)));
        // savepoints of the separate batcher operator (same uid) hold preprocessed requests
        ListState<Tuple2<PreparedRequest, Long>> legacy = context.getOperatorStateStore().getListState(
                new ListStateDescriptor<>("loupe-batcher-buffer",
                        new TupleTypeInfo<Tuple2<PreparedRequest, Long>>(elementType, Types.LONG)));
        batcher = new DynamicBatcher<>(maxSize, maxDelay);
        restored = new ArrayList<>();
        if (context.isRestored()) {
            for (Tuple2<PreparedRequest, Long> entry : legacy.get()) {
                batcher.add(entry.f0, entry.f1);
            }
            legacy.clear();
            for (Tuple2<FetchedImage, Long> entry : pendingState.get()) {
                restored.add(entry);
            }
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        annotator = factoryForThisSubtask().createAnnotator();
        inference = new BatchInference(annotator);
        int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        modelThread = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "loupe-inference-" + subtask);
            thread.setDaemon(true);
            return thread;
        });
        var metrics = getMetricGroup();
        batchSizes = metrics.histogram("batchSize", new DescriptiveStatisticsHistogram(1024));
        queueWaitMillis = metrics.histogram("queueWaitMillis", new DescriptiveStatisticsHistogram(1024));
        inferenceMillis = metrics.histogram("inferenceMillis", new DescriptiveStatisticsHistogram(1024));
        images = metrics.counter("imagesAnnotated");
        metrics.meter("imagesPerSecond", new MeterView(images));
        metrics.gauge("batchBuffered", () -> batcher.size());
        registerVisionGauges(metrics);
        preprocessRestored();
        // restored requests start once their delay (counted from before the restart) is over
        startIfReady();
    }

    /**
     * The image stage's reuse ({@link VisionFeatureStats}): counts of the runtime this subtask shares with the other
     * subtasks of its TaskManager, so every subtask on it reports the same figures (do not sum them).
     */
    private void registerVisionGauges(MetricGroup metrics) {
        metrics.gauge("visionImagesEncoded", (Gauge<Long>) () -> visionStats().imagesEncoded());
        metrics.gauge("visionDuplicateRows", (Gauge<Long>) () -> visionStats().duplicateRows());
        metrics.gauge("visionCacheHits", (Gauge<Long>) () -> visionStats().cacheHits());
        metrics.gauge("visionCacheMisses", (Gauge<Long>) () -> visionStats().cacheMisses());
        metrics.gauge("visionCacheBytes", (Gauge<Long>) () -> visionStats().cacheBytes());
    }

    /** The shared runtime's figures while this subtask holds it (a reporter may still poll after close). */
    private VisionFeatureStats visionStats() {
        return closed ? VisionFeatureStats.NONE : annotator.visionStats();
    }

    /** Preprocesses the restored requests' images again, in their order, ahead of anything new. */
    private void preprocessRestored() throws Exception {
        if (restored.isEmpty()) {
            return;
        }
        ImagePreprocessor preprocessor = factory.createPreprocessor();
        List<DynamicBatcher.Entry<PreparedRequest>> entries = new ArrayList<>(restored.size());
        for (Tuple2<FetchedImage, Long> entry : restored) {
            FetchedImage fetched = entry.f0;
            try {
                long start = System.nanoTime();
                ImageTensor tensor = preprocessor.preprocess(fetched.bytes);
                entries.add(new DynamicBatcher.Entry<>(new PreparedRequest(fetched.request, fetched.bytes, tensor,
                        fetched.fetchMillis, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)), entry.f1));
            } catch (AnnotationException e) {
                output.collect(Failures.TAG, new StreamRecord<>(fetched.request.failure(Failures.PREPROCESS, e)
                        .toRecord(System.currentTimeMillis())));
            } catch (RuntimeException e) {
                output.collect(Failures.TAG, new StreamRecord<>(fetched.request.failure(Failures.PREPROCESS,
                        ErrorCode.INTERNAL, "preprocessing " + fetched.request.imageLabel() + " again after a restore "
                                + "failed: " + e).toRecord(System.currentTimeMillis())));
            }
        }
        batcher.restore(entries);
        restored = List.of();
    }

    /**
     * When the TaskManager has GPUs (Flink's {@code gpu} external resource), subtasks spread over them by index;
     * subtasks on one GPU share its runtime.
     */
    private AnnotatorFactory factoryForThisSubtask() {
        List<Integer> gpus = getRuntimeContext().getExternalResourceInfos("gpu").stream()
                .map(info -> info.getProperty("index"))
                .flatMap(Optional::stream)
                .map(Integer::parseInt)
                .sorted()
                .toList();
        if (gpus.isEmpty()) {
            return factory;
        }
        int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        return factory.forDevice(gpus.get(subtask % gpus.size()));
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

    @Override
    public void endInput() throws Exception {
        drain();
    }

    @Override
    public void finish() throws Exception {
        drain();
        super.finish();
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        List<Tuple2<FetchedImage, Long>> entries = new ArrayList<>(restored);   // not yet preprocessed again
        if (running != null) {
            for (int i = 0; i < running.size(); i++) {
                entries.add(Tuple2.of(running.elements().get(i).toFetched(), runningTakenAt - running.queueMillis()[i]));
            }
        }
        for (DynamicBatcher.Entry<PreparedRequest> e : batcher.entries()) {
            entries.add(Tuple2.of(e.element().toFetched(), e.enqueuedAt()));
        }
        pendingState.update(entries);
    }

    @Override
    public void close() throws Exception {
        closed = true;
        try {
            if (timer != null) {
                timer.cancel(false);
            }
            boolean stopped = true;
            if (modelThread != null) {
                modelThread.shutdown();
                stopped = modelThread.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            }
            if (annotator != null) {
                if (stopped) {
                    annotator.close();
                } else {
                    LOG.warn("The model did not finish its batch within {}; its runtime is left open", CLOSE_WAIT);
                }
            }
        } finally {
            super.close();
        }
    }

    /** Runs everything buffered, ignoring the delay, and waits until the model is done. */
    private void drain() throws Exception {
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
        } else if (timer == null || timerAt != batcher.deadline()) {
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

    /** On the task thread: emits a finished batch's results and failures, and starts the next batch if ready. */
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
        for (long millis : outcomes.runMillis()) {
            inferenceMillis.update(millis);
        }
        for (AnnotationResult result : outcomes.results()) {
            images.inc();
            output.collect(new StreamRecord<>(result));
        }
        for (AnnotationFailure failure : outcomes.failures()) {
            output.collect(Failures.TAG, new StreamRecord<>(failure));
        }
        startIfReady();
    }

    private long now() {
        return getProcessingTimeService().getCurrentProcessingTime();
    }

    /**
     * Builds the operator with the task's mailbox, through which the model thread hands finished batches back to the
     * task thread.
     */
    public static final class Factory extends AbstractStreamOperatorFactory<AnnotationResult>
            implements OneInputStreamOperatorFactory<PreparedRequest, AnnotationResult>,
            YieldingOperatorFactory<AnnotationResult> {
        private static final long serialVersionUID = 1L;

        private final AnnotatorFactory factory;
        private final TypeInformation<PreparedRequest> elementType;
        private final int maxSize;
        private final Duration maxDelay;

        /**
         * @throws IllegalArgumentException when {@code maxSize < 1} or {@code maxDelay} is negative
         */
        public Factory(AnnotatorFactory factory, TypeInformation<PreparedRequest> elementType, int maxSize,
                Duration maxDelay) {
            DynamicBatcher.checkSettings(maxSize, maxDelay);
            this.factory = factory;
            this.elementType = elementType;
            this.maxSize = maxSize;
            this.maxDelay = maxDelay;
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T extends StreamOperator<AnnotationResult>> T createStreamOperator(
                StreamOperatorParameters<AnnotationResult> parameters) {
            return (T) new BatchInferenceOperator(parameters, factory, elementType, maxSize, maxDelay,
                    getMailboxExecutor());
        }

        @Override
        @SuppressWarnings("rawtypes")
        public Class<? extends StreamOperator> getStreamOperatorClass(ClassLoader classLoader) {
            return BatchInferenceOperator.class;
        }
    }
}
