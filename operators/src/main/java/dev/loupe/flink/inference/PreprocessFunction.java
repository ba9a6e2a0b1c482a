package dev.loupe.flink.inference;

import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.fetch.FetchedImage;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Decodes and preprocesses each fetched image with the model's {@link ImagePreprocessor} (created in
 * {@link #open}); an image the preprocessor rejects becomes a failure on {@link Failures#TAG} with its code. With a
 * thumbnail size, each preprocessed image's thumbnail, made from the same decode, goes to {@link #THUMBNAILS}.
 */
public final class PreprocessFunction extends ProcessFunction<FetchedImage, PreparedRequest> {
    /** Side output of the thumbnails. */
    public static final OutputTag<ImageThumbnail> THUMBNAILS =
            new OutputTag<>("loupe-thumbnails", TypeInformation.of(ImageThumbnail.class));

    private final AnnotatorFactory factory;
    private final int thumbnailSize;
    private transient ImagePreprocessor preprocessor;

    public PreprocessFunction(AnnotatorFactory factory) {
        this(factory, 0);
    }

    /** {@code thumbnailSize}: longest side of the thumbnails on {@link #THUMBNAILS}; 0: none. */
    public PreprocessFunction(AnnotatorFactory factory, int thumbnailSize) {
        this.factory = factory;
        this.thumbnailSize = thumbnailSize;
    }

    @Override
    public void open(OpenContext openContext) throws Exception {
        preprocessor = factory.createPreprocessor();
    }

    @Override
    public void processElement(FetchedImage in, Context ctx, Collector<PreparedRequest> out) {
        PreparedRequest prepared;
        try {
            long start = System.nanoTime();
            ImageTensor tensor;
            if (thumbnailSize > 0) {
                ImagePreprocessor.Preprocessed p = preprocessor.preprocessWithThumbnail(in.bytes, thumbnailSize);
                tensor = p.tensor();
                if (p.thumbnail() != null) {
                    ctx.output(THUMBNAILS, new ImageThumbnail(in.request.id, in.request.metadata, p.thumbnail()));
                }
            } else {
                tensor = preprocessor.preprocess(in.bytes);
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
