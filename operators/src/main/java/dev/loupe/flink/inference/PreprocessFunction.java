package dev.loupe.flink.inference;

import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.fetch.FetchedImage;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.cpu.ThreadNiceness;
import dev.loupe.model.image.PillowResampler;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes and preprocesses each fetched image with the model's {@link ImagePreprocessor} (created in
 * {@link #open}); an image the preprocessor rejects becomes a failure on {@link Failures#TAG} with its code. With a
 * thumbnail size, each preprocessed image's thumbnail, made from the same decode, goes to {@link #THUMBNAILS}. The
 * tensors' arrays come from {@link PixelBuffers#SHARED}, to which the inference operator gives them back.
 *
 * <p>With a task niceness ({@code loupe.pipeline.task-niceness}), {@link #open} raises its task thread's nice value
 * ({@link ThreadNiceness}): the image work, and whatever else shares the thread (reading, emitting results), then
 * yields the cores to the model's threads while they compute. Operators open from the end of a chain to its start,
 * so the chained inference operator has started its model thread, at the process's priority, by then; threads that
 * the task thread starts later (the fetch pool) inherit the lower priority. The JVM's JIT compiler threads take the
 * same nice value ({@link ThreadNiceness#compilerThreadsAtLeast}): compiling the job's code is work the model need not
 * wait for either.
 */
public final class PreprocessFunction extends ProcessFunction<FetchedImage, PreparedRequest> {
    /** Side output of the thumbnails. */
    public static final OutputTag<ImageThumbnail> THUMBNAILS =
            new OutputTag<>("loupe-thumbnails", TypeInformation.of(ImageThumbnail.class));

    private static final Logger LOG = LoggerFactory.getLogger(PreprocessFunction.class);

    private final AnnotatorFactory factory;
    private final int thumbnailSize;
    private final int taskNiceness;
    private transient ImagePreprocessor preprocessor;

    public PreprocessFunction(AnnotatorFactory factory) {
        this(factory, 0);
    }

    /** {@code thumbnailSize}: longest side of the thumbnails on {@link #THUMBNAILS}; 0: none. */
    public PreprocessFunction(AnnotatorFactory factory, int thumbnailSize) {
        this(factory, thumbnailSize, 0);
    }

    /**
     * {@code taskNiceness}: the nice value (0..19) the task thread takes on open; 0 leaves it unchanged.
     *
     * @throws IllegalArgumentException when {@code taskNiceness} is outside 0..19
     */
    public PreprocessFunction(AnnotatorFactory factory, int thumbnailSize, int taskNiceness) {
        if (taskNiceness < 0 || taskNiceness > ThreadNiceness.MAX) {
            throw new IllegalArgumentException("task niceness must be 0.." + ThreadNiceness.MAX + ", got " + taskNiceness);
        }
        this.factory = factory;
        this.thumbnailSize = thumbnailSize;
        this.taskNiceness = taskNiceness;
    }

    @Override
    public void open(OpenContext openContext) throws Exception {
        preprocessor = factory.createPreprocessor();
        // many images follow: the vector resampling's one-off warm-up starts now if the inference operator (which
        // starts it before loading the model) is not in this process
        PillowResampler.warmUpInBackground();
        if (taskNiceness > 0 && !ThreadNiceness.atLeast(taskNiceness)) {
            LOG.info("Task thread priority unchanged (nice {} unavailable here): image work competes with the model "
                    + "for the cores", taskNiceness);
        } else if (taskNiceness > 0) {
            ThreadNiceness.compilerThreadsAtLeast(taskNiceness);
        }
    }

    @Override
    public void processElement(FetchedImage in, Context ctx, Collector<PreparedRequest> out) {
        PreparedRequest prepared;
        try {
            long start = System.nanoTime();
            ImagePreprocessor.Preprocessed p = preprocessor.preprocess(in.bytes, thumbnailSize, PixelBuffers.SHARED::take);
            ImageTensor tensor = p.tensor();
            if (p.thumbnail() != null) {
                ctx.output(THUMBNAILS, new ImageThumbnail(in.request.id, in.request.metadata, p.thumbnail()));
            }
            prepared = new PreparedRequest(in.request, in.bytes, tensor, in.fetchMillis,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        } catch (AnnotationException e) {
            ctx.output(Failures.TAG, in.request.failure(Failures.PREPROCESS, e)
                    .toRecord(System.currentTimeMillis()));
            return;
        } catch (RuntimeException e) {
            ctx.output(Failures.TAG, in.request.failure(Failures.PREPROCESS, ErrorCode.INTERNAL,
                    "preprocessing " + in.request.imageLabel() + " failed: " + e).toRecord(System.currentTimeMillis()));
            return;
        }
        // outside the try: a failure downstream (the chained inference operator failing the task) is not this
        // image's preprocessing failure and must not become its failure record
        out.collect(prepared);
    }
}
