package dev.loupe.jobs.caption;

import dev.loupe.flink.PipelineOptions;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.TaskDefaults;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.GenerationOverrides;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Task;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What every image of a caption run is asked (task, prompt or question, candidates, decoding overrides), turned
 * into one {@code AnnotationRequest} per {@link InputEntry}. The request's id is the image id; its metadata
 * carries the output order key ({@link #SEQUENCE_KEY}).
 */
public record RequestTemplate(String task, String prompt, String question, List<String> candidates,
        Integer maxNewTokens, Integer minNewTokens, Integer numBeams, Integer numReturnSequences, Double lengthPenalty,
        Double repetitionPenalty, Boolean doSample, Double temperature, Integer topK, Double topP, Long seed,
        String earlyStopping) implements Serializable {

    /** Metadata key of a request's place in the output order. */
    public static final String SEQUENCE_KEY = "loupe.caption.sequence";

    /** Metadata key of a WebDataset sample's key and text members (JSON), carried into its output row. */
    public static final String SAMPLE_KEY = "loupe.caption.sample";

    public RequestTemplate {
        candidates = candidates == null ? List.of() : List.copyOf(candidates);
    }

    /** The request for one image. */
    public AnnotationRequest request(String id, ImageSource image, String sequence) {
        Map<String, String> metadata = new HashMap<>();
        metadata.put(SEQUENCE_KEY, sequence);
        AnnotationRequest.Builder b = AnnotationRequest.newBuilder()
                .setId(id)
                .setImage(image)
                .setTask(Task.valueOf(task))
                .setPrompt(prompt)
                .setQuestion(question)
                .setCandidates(candidates)
                .setMetadata(metadata);
        GenerationOverrides overrides = GenerationOverrides.newBuilder()
                .setMaxNewTokens(maxNewTokens).setMinNewTokens(minNewTokens).setNumBeams(numBeams)
                .setNumReturnSequences(numReturnSequences)
                .setLengthPenalty(lengthPenalty == null ? null : lengthPenalty.floatValue())
                .setRepetitionPenalty(repetitionPenalty == null ? null : repetitionPenalty.floatValue())
                .setDoSample(doSample).setTemperature(temperature == null ? null : temperature.floatValue())
                .setTopK(topK).setTopP(topP == null ? null : topP.floatValue()).setSeed(seed)
                .setEarlyStopping(earlyStopping)
                .build();
        b.setGeneration(overrides);
        return b.build();
    }

    /** The source record for {@code entry}: its request, or its read error. */
    SourcedImage toSourced(InputEntry entry, String sequence) {
        SourcedImage sourced;
        if (entry.isFailure()) {
            sourced = new SourcedImage(entry.id(), sequence, null, entry.errorCode().name(), entry.errorMessage());
        } else {
            ImageSource image = entry.uri() != null
                    ? ImageSource.newBuilder().setUri(entry.uri()).build()
                    : ImageSource.newBuilder().setBytes(ByteBuffer.wrap(entry.bytes())).build();
            AnnotationRequest request = request(entry.id(), image, sequence);
            if (entry.sample() != null) {
                request.getMetadata().put(SAMPLE_KEY, entry.sample());
            }
            sourced = new SourcedImage(entry.id(), sequence, request, null, null);
        }
        sourced.sample = entry.sample();
        return sourced;
    }

    /**
     * Checks the template the way the pipeline will check each request (task, prompt, candidates, decoding limits),
     * so a bad option fails the command before the job starts instead of failing every image.
     *
     * @throws IllegalArgumentException with the validator's message
     */
    public void validate(PipelineOptions options, TaskDefaults defaults) {
        try {
            options.requestValidator(defaults).validate(request("check",
                    ImageSource.newBuilder().setBytes(ByteBuffer.wrap(new byte[] {1})).build(), "0"));
        } catch (AnnotationException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }
}
