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

    public ValidatedRequest validate(AnnotationRequest request) throws AnnotationException {
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
        return new ValidatedRequest(id, uri, inline == null ? null : bytes(inline), task, prompt, candidates,
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

    GenerationConfig generation(Task task, GenerationOverrides o) throws AnnotationException {
        GenerationConfig base = taskDefaults.forTask(task);
        if (o == null) {
            return checkLimits(base);
        }
        boolean sample = o.getDoSample() != null ? o.getDoSample()
                : base.doSample() || o.getTemperature() != null || o.getTopP() != null || o.getTopK() != null;
        GenerationConfig.EarlyStopping earlyStopping;
        try {
            earlyStopping = o.getEarlyStopping() == null ? base.earlyStopping()
                    : GenerationConfig.EarlyStopping.parse(o.getEarlyStopping());
        } catch (IllegalArgumentException e) {
            throw invalid("generation.earlyStopping: " + e.getMessage());
        }
        GenerationConfig config = new GenerationConfig(
                or(o.getMaxNewTokens(), base.maxNewTokens()),
                or(o.getMinNewTokens(), base.minNewTokens()),
                or(o.getNumBeams(), base.numBeams()),
                or(o.getNumReturnSequences(), base.numReturnSequences()),
                o.getLengthPenalty() == null ? base.lengthPenalty() : o.getLengthPenalty(),
                o.getRepetitionPenalty() == null ? base.repetitionPenalty() : o.getRepetitionPenalty(),
                sample,
                o.getTemperature() == null ? base.temperature() : o.getTemperature(),
                o.getTopP() == null ? base.topP() : o.getTopP(),
                or(o.getTopK(), base.topK()),
                o.getSeed() == null ? base.seed() : o.getSeed(),
                earlyStopping);
        try {
            config.validate();
        } catch (IllegalArgumentException e) {
            throw invalid("generation: " + e.getMessage());
        }
        return checkLimits(config);
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

    private static int or(Integer value, int fallback) {
        return value == null ? fallback : value;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer b = buffer.duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private static AnnotationException invalid(String message) {
        return new AnnotationException(ErrorCode.INVALID_REQUEST, message);
    }
}
