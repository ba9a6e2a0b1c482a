package dev.loupe.flink.failure;

import dev.loupe.schemas.AnnotationFailure;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.util.OutputTag;

/** The one side output every stage sends its failures to, and the stage names used on failure records. */
public final class Failures {
    private Failures() {}

    public static final AvroTypeInfo<AnnotationFailure> TYPE = new AvroTypeInfo<>(AnnotationFailure.class);

    /** Side output of failures; {@code dev.loupe.flink.AnnotationPipeline} unions them from every stage. */
    public static final OutputTag<AnnotationFailure> TAG = new OutputTag<>("loupe-failures", TYPE);

    public static final String DECODE = "decode";
    public static final String FETCH = "fetch";
    public static final String PREPROCESS = "preprocess";
    public static final String INFERENCE = "inference";
}
