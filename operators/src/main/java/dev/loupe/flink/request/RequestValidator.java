package dev.loupe.flink.request;

import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.failure.StageFailure;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.Task;
import dev.loupe.model.api.TaskDefaults;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.GenerationOverrides;
import dev.loupe.schemas.ImageSource;
import java.io.Serializable;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Checks a decoded {@link AnnotationRequest} and turns it into a {@link ValidatedRequest}: one image source, a
 * resolved prompt, candidates for RANK, generation overrides applied and validated. Violations raise
 * {@link AnnotationException} with INVALID_REQUEST, or UNSUPPORTED_OPTION for settings beyond this deployment's limits.
 */
public final class RequestValidator implements Serializable {
    private final int maxNewTokensLimit;
    private final int maxBeams;
    private final TaskDefaults taskDefaults;

    /**
     * @param maxNewTokensLimit the largest maxNewTokens a request may ask for ({@code loupe.request.max-new-tokens})
     * @param maxBeams          the largest numBeams a request may ask for ({@code loupe.request.max-beams})
     * @param taskDefaults      the model's per-task decoding defaults, which request overrides start from
     */
    public RequestValidator(int maxNewTokensLimit, int maxBeams, TaskDefaults taskDefaults) {
        this.maxNewTokensLimit = maxNewTokensLimit;
        this.maxBeams = maxBeams;
        this.taskDefaults = taskDefaults;
    }

    /** The request validated; its inline image is copied, so the caller may go on using the request's buffer. */
    public ValidatedRequest validate(AnnotationRequest request) throws AnnotationException {
        return validate(request, false);
    }

    /**
     * As {@link #validate(AnnotationRequest)} for a request just decoded, which no one else holds: an inline image
     * that fills its buffer's whole array (as Avro decodes one) is taken as it is, not copied. One copy of a 100 KB
     * JPEG per request fewer on the streaming job's task thread, and as much less garbage (issue 13).
     */
    public ValidatedRequest validateDecoded(AnnotationRequest request) throws AnnotationException {
        return validate(request, true);
    }

    private ValidatedRequest validate(AnnotationRequest request, boolean owned) throws AnnotationException {
        String id = request.getId();
        if (id == null || id.isBlank()) {
            throw invalid("id must not be blank");
        }
        ImageSource image = request.getImage();
        String uri = image == null ? null : image.getUri();
        ByteBuffer inline = image == null ? null : image.getBytes();
        if ((uri == null) == (inline == null)) {
            throw invalid("exactly one of image.uri and image.bytes must be set");
        }
        if (uri != null) {
            checkUri(uri);
        }
        Task task = Task.valueOf(request.getTask().name());
        List<String> candidates = request.getCandidates() == null ? List.of() : request.getCandidates();
        if (task == Task.RANK) {
            if (candidates.isEmpty()) {
                throw invalid("task RANK needs at least one candidate");
            }
            for (String c : candidates) {
                if (c == null || c.isBlank()) {
                    throw invalid("candidates must not be blank");
                }
            }
        } else if (!candidates.isEmpty()) {
            throw invalid("candidates are only used by task RANK, got task " + task);
        }
        checkPrompt(task, request.getPrompt(), request.getQuestion());
        String prompt = Prompts.resolve(request.getPrompt(), request.getQuestion(), request.getOcrTokens());
        GenerationConfig generation = generation(task, request.getGeneration());
        Map<String, String> metadata = request.getMetadata() == null ? Map.of() : request.getMetadata();
        return new ValidatedRequest(id, uri, inline == null ? null : bytes(inline, owned), task, prompt, candidates,
                generation, metadata);
    }

    /** The failure of a request this validator refused: stage decode, with the request's id and metadata. */
    public static StageFailure refusal(AnnotationRequest request, AnnotationException e) {
        return new StageFailure(request.getId(), Failures.DECODE, e.code(), e.getMessage(), null, request.getMetadata());
    }

    /**
     * A prompt or question that is set must say something: a blank one is refused rather than silently replaced by
     * the caption template, and VQA needs a question (or a verbatim prompt) to answer.
     */
    private static void checkPrompt(Task task, String prompt, String question) throws AnnotationException {
        if (prompt != null && prompt.isBlank()) {
            throw invalid("prompt is set but blank; leave it unset to use the task's template");
        }
        if (question != null && question.isBlank()) {
            throw invalid("question is set but blank");
        }
        if (task == Task.VQA && prompt == null && question == null) {
            throw invalid("task VQA needs a question (or a verbatim prompt)");
        }
    }

    /**
     * The model's defaults for the task with the request's overrides applied. {@link GenerationConfig} checks itself
     * when built; its refusal becomes this request's INVALID_REQUEST.
     */
    GenerationConfig generation(Task task, GenerationOverrides o) throws AnnotationException {
        GenerationConfig base = taskDefaults.forTask(task);
        if (o == null) {
            return checkLimits(base);
        }
        GenerationConfig.Builder config = base.toBuilder()
                .doSample(o.getDoSample() != null ? o.getDoSample()
                        : base.doSample() || o.getTemperature() != null || o.getTopP() != null || o.getTopK() != null);
        try {
            ifSet(o.getEarlyStopping(), e -> config.earlyStopping(GenerationConfig.EarlyStopping.parse(e)));
        } catch (IllegalArgumentException e) {
            throw invalid("generation.earlyStopping: " + e.getMessage());
        }
        ifSet(o.getMaxNewTokens(), config::maxNewTokens);
        ifSet(o.getMinNewTokens(), config::minNewTokens);
        ifSet(o.getNumBeams(), config::numBeams);
        ifSet(o.getNumReturnSequences(), config::numReturnSequences);
        ifSet(o.getLengthPenalty(), v -> config.lengthPenalty(v));
        ifSet(o.getRepetitionPenalty(), v -> config.repetitionPenalty(v));
        ifSet(o.getTemperature(), v -> config.temperature(v));
        ifSet(o.getTopP(), v -> config.topP(v));
        ifSet(o.getTopK(), config::topK);
        ifSet(o.getSeed(), config::seed);
        try {
            return checkLimits(config.build());
        } catch (IllegalArgumentException e) {
            throw invalid("generation: " + e.getMessage());
        }
    }

    private GenerationConfig checkLimits(GenerationConfig config) throws AnnotationException {
        if (config.maxNewTokens() > maxNewTokensLimit) {
            throw new AnnotationException(ErrorCode.UNSUPPORTED_OPTION,
                    "maxNewTokens " + config.maxNewTokens() + " exceeds this deployment's limit " + maxNewTokensLimit);
        }
        if (config.numBeams() > maxBeams) {
            throw new AnnotationException(ErrorCode.UNSUPPORTED_OPTION,
                    "numBeams " + config.numBeams() + " exceeds this deployment's limit " + maxBeams);
        }
        return config;
    }

    private static void checkUri(String uri) throws AnnotationException {
        try {
            URI parsed = new URI(uri);
            if (parsed.getScheme() == null) {
                throw invalid("image.uri must be absolute with a scheme (file:, http:, https:, s3:, ...), got " + UriRedaction.redact(uri));
            }
        } catch (URISyntaxException e) {
            throw invalid("image.uri is not a valid URI: " + e.getReason() + " at index " + e.getIndex());
        }
    }

    private static <T> void ifSet(T value, Consumer<T> setter) {
        if (value != null) {
            setter.accept(value);
        }
    }

    /** The buffer's remaining bytes: its array itself where {@code owned} and they are all of it, else a copy. */
    private static byte[] bytes(ByteBuffer buffer, boolean owned) {
        if (owned && buffer.hasArray() && buffer.arrayOffset() == 0 && buffer.position() == 0
                && buffer.remaining() == buffer.array().length) {
            return buffer.array();
        }
        ByteBuffer b = buffer.duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private static AnnotationException invalid(String message) {
        return new AnnotationException(ErrorCode.INVALID_REQUEST, message);
    }
}
