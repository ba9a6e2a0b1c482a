package dev.loupe.flink.inference;

import dev.loupe.flink.batch.DynamicBatcher;
import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.fetch.FetchedImage;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationSplit;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.model.cpu.ThreadNiceness;
import dev.loupe.model.image.PillowResampler;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.operators.MailboxExecutor;
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
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What both inference operators ({@link BatchInferenceOperator}, static batches; {@link ContinuousInferenceOperator},
 * step-level scheduling) share: the model on its own thread, the checkpointed requests not yet emitted (each as its
 * encoded image and arrival time, in one state layout, so a job can switch scheduling across a restore), their
 * preprocessing again after a restore, the per-subtask annotator, the metrics and the emission of outcomes.
 */
abstract class InferenceOperatorBase extends AbstractStreamOperator<AnnotationResult>
        implements OneInputStreamOperator<PreparedRequest, AnnotationResult>, BoundedOneInput {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(InferenceOperatorBase.class);
    /** How long closing waits for the model thread before leaving the annotator open rather than freeing it under it. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(60);

    protected final AnnotatorFactory factory;
    protected final int maxSize;
    protected final Duration maxDelay;
    protected final transient MailboxExecutor mailbox;
    private final TypeInformation<PreparedRequest> elementType;

    private transient ListState<Tuple2<FetchedImage, Long>> pendingState;
    /** Restored requests, preprocessed again in {@link #open}. */
    private transient List<Tuple2<FetchedImage, Long>> restored;
    /** Requests from savepoints of the former batcher operator (same uid), already preprocessed. */
    private transient List<DynamicBatcher.Entry<PreparedRequest>> legacy;
    protected transient BatchAnnotator annotator;
    /** The runtime's generation split when this subtask opened (the runtime may be shared and older). */
    private transient GenerationSplit splitAtOpen;
    protected transient BatchInference inference;
    protected transient ExecutorService modelThread;
    protected transient Histogram batchSizes;
    protected transient Histogram queueWaitMillis;
    private transient Histogram inferenceMillis;
    private transient Counter images;
    private transient volatile boolean closed;

    InferenceOperatorBase(StreamOperatorParameters<AnnotationResult> parameters, AnnotatorFactory factory,
            TypeInformation<PreparedRequest> elementType, int maxSize, Duration maxDelay, MailboxExecutor mailbox) {
        super(parameters);
        this.factory = factory;
        this.elementType = elementType;
        this.maxSize = maxSize;
        this.maxDelay = maxDelay;
        this.mailbox = mailbox;
    }

    /** Takes the restored requests, in arrival order, ahead of anything new (called in {@link #open}). */
    protected abstract void restore(List<DynamicBatcher.Entry<PreparedRequest>> entries);

    /** Every request held whose outcome was not emitted: what a checkpoint stores. */
    protected abstract List<DynamicBatcher.Entry<PreparedRequest>> pending();

    /** Stops the model thread's work as far as it can before {@link #close} waits for it. */
    protected abstract void stopModel();

    /** Requests held now (waiting or with the model), for the {@code batchBuffered} gauge's sibling. */
    protected abstract int buffered();

    /** Runs or hands over everything held and waits until every outcome is emitted (end of input, finish). */
    protected abstract void drain() throws Exception;

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
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        pendingState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("loupe-inference-pending",
                new TupleTypeInfo<Tuple2<FetchedImage, Long>>(TypeInformation.of(FetchedImage.class), Types.LONG)));
        ListState<Tuple2<PreparedRequest, Long>> legacyState = context.getOperatorStateStore().getListState(
                new ListStateDescriptor<>("loupe-batcher-buffer",
                        new TupleTypeInfo<Tuple2<PreparedRequest, Long>>(elementType, Types.LONG)));
        restored = new ArrayList<>();
        legacy = new ArrayList<>();
        if (context.isRestored()) {
            for (Tuple2<PreparedRequest, Long> entry : legacyState.get()) {
                legacy.add(new DynamicBatcher.Entry<>(entry.f0, entry.f1));
            }
            legacyState.clear();
            for (Tuple2<FetchedImage, Long> entry : pendingState.get()) {
                restored.add(entry);
            }
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        // the preprocessing chained before this operator opens after it, just before the first read: the vector
        // resampling's one-off warm-up (about a second of CPU, mostly C2) starts here instead, beside the model's
        // loading (seconds, one core), not beside its first batches
        PillowResampler.warmUpInBackground();
        annotator = factoryForThisSubtask().createAnnotator();
        inference = new BatchInference(annotator);
        splitAtOpen = annotator.generationSplit();
        int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        modelThread = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "loupe-inference-" + subtask);
            thread.setDaemon(true);
            return thread;
        });
        startModelThread();
        var metrics = getMetricGroup();
        batchSizes = metrics.histogram("batchSize", new DescriptiveStatisticsHistogram(1024));
        queueWaitMillis = metrics.histogram("queueWaitMillis", new DescriptiveStatisticsHistogram(1024));
        inferenceMillis = metrics.histogram("inferenceMillis", new DescriptiveStatisticsHistogram(1024));
        images = metrics.counter("imagesAnnotated");
        metrics.meter("imagesPerSecond", new MeterView(images));
        metrics.gauge("batchBuffered", this::buffered);
        registerVisionGauges(metrics);
        registerHostTrafficGauges(metrics);
        List<DynamicBatcher.Entry<PreparedRequest>> entries = new ArrayList<>(legacy);
        entries.addAll(preprocessRestored());
        legacy = List.of();
        restore(entries);
    }

    /**
     * Starts the model thread now, while this task thread still has the process's priority (a thread inherits its
     * parent's nice value, and an upstream operator may raise the task thread's: see {@code PreprocessFunction}).
     */
    private void startModelThread() throws Exception {
        OptionalInt taskNice = ThreadNiceness.current();
        OptionalInt modelNice = modelThread.submit(ThreadNiceness::current).get();
        if (taskNice.isPresent() && modelNice.isPresent() && modelNice.getAsInt() > 0) {
            LOG.warn("The model thread runs at nice {} (its task thread's): it competes with the image work for the cores",
                    modelNice.getAsInt());
        }
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

    /**
     * The device-bound decoder runner's host-boundary bytes ({@link HostTrafficStats}; all 0 for the Java-API runner),
     * of the runtime this subtask shares with the other subtasks of its TaskManager (do not sum them).
     */
    private void registerHostTrafficGauges(MetricGroup metrics) {
        metrics.gauge("decodeSteps", (Gauge<Long>) () -> hostTraffic().steps());
        metrics.gauge("decodeStepBytesToDevice", (Gauge<Long>) () -> hostTraffic().stepToDevice());
        metrics.gauge("decodeStepBytesToHost", (Gauge<Long>) () -> hostTraffic().stepToHost());
        metrics.gauge("prefillBytesToDevice", (Gauge<Long>) () -> hostTraffic().prefillToDevice());
        metrics.gauge("imageSideBytesToDevice", (Gauge<Long>) () -> hostTraffic().imageToDevice());
        metrics.gauge("imageSideBytesToHost", (Gauge<Long>) () -> hostTraffic().imageToHost());
        metrics.gauge("deviceBytesInUse", (Gauge<Long>) () -> hostTraffic().deviceBytesInUse());
    }

    private HostTrafficStats hostTraffic() {
        return closed ? HostTrafficStats.NONE : annotator.hostTraffic();
    }

    /** The shared runtime's figures while this subtask holds it (a reporter may still poll after close). */
    private VisionFeatureStats visionStats() {
        return closed ? VisionFeatureStats.NONE : annotator.visionStats();
    }

    /** Preprocesses the restored requests' images again, in their order; one that fails gets a failure record. */
    private List<DynamicBatcher.Entry<PreparedRequest>> preprocessRestored() throws Exception {
        if (restored.isEmpty()) {
            return List.of();
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
        restored = List.of();
        return entries;
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
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        List<Tuple2<FetchedImage, Long>> entries = new ArrayList<>(restored);   // not yet preprocessed again
        for (DynamicBatcher.Entry<PreparedRequest> e : legacy) {
            entries.add(Tuple2.of(e.element().toFetched(), e.enqueuedAt()));
        }
        for (DynamicBatcher.Entry<PreparedRequest> e : pending()) {
            entries.add(Tuple2.of(e.element().toFetched(), e.enqueuedAt()));
        }
        pendingState.update(entries);
    }

    /** Emits what the model produced for some requests (on the task thread). */
    protected void emit(BatchInference.Outcomes outcomes) {
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
    }

    @Override
    public void close() throws Exception {
        closed = true;
        try {
            stopModel();
            boolean stopped = true;
            if (modelThread != null) {
                modelThread.shutdown();
                stopped = modelThread.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            }
            if (annotator != null) {
                if (stopped) {
                    LOG.info("Model time while this subtask ran (the runtime's, shared by its subtasks in this process): {}",
                            annotator.generationSplit().minus(splitAtOpen).summary());
                    annotator.close();
                } else {
                    LOG.warn("The model did not stop within {}; its runtime is left open", CLOSE_WAIT);
                }
            }
        } finally {
            super.close();
        }
    }

    protected long now() {
        return getProcessingTimeService().getCurrentProcessingTime();
    }
}
