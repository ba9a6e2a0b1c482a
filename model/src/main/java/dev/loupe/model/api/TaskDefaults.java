package dev.loupe.model.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Serializable;
import java.util.EnumMap;
import java.util.Map;

/**
 * The decoding settings a model uses for each task when a request does not override them. They live in the model
 * package's manifest ({@code generation.caption}, {@code generation.vqa}, ... with Hugging Face key names), so a
 * model ships with defaults that suit it; requests override field by field.
 */
public final class TaskDefaults implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Used for a task the manifest does not mention. */
    public static final GenerationConfig FALLBACK = GenerationConfig.GREEDY;

    private final EnumMap<Task, GenerationConfig> byTask;

    private TaskDefaults(EnumMap<Task, GenerationConfig> byTask) {
        this.byTask = byTask;
    }

    public static TaskDefaults fallback() {
        return new TaskDefaults(new EnumMap<>(Task.class));
    }

    public static TaskDefaults of(Map<Task, GenerationConfig> byTask) {
        EnumMap<Task, GenerationConfig> m = new EnumMap<>(Task.class);
        byTask.forEach((t, g) -> m.put(t, g));
        return new TaskDefaults(m);
    }

    /** Reads {@code {"caption": {"max_new_tokens": 30, ...}, "vqa": {...}}}; unknown keys are ignored. */
    public static TaskDefaults fromJson(JsonNode generation) {
        EnumMap<Task, GenerationConfig> m = new EnumMap<>(Task.class);
        if (generation != null) {
            for (Task task : Task.values()) {
                JsonNode n = generation.get(task.wireName());
                if (n != null && n.isObject()) {
                    m.put(task, parse(n));
                }
            }
        }
        return new TaskDefaults(m);
    }

    private static GenerationConfig parse(JsonNode n) {
        GenerationConfig b = FALLBACK;
        return new GenerationConfig(
                n.path("max_new_tokens").asInt(b.maxNewTokens()),
                n.path("min_new_tokens").asInt(b.minNewTokens()),
                n.path("num_beams").asInt(b.numBeams()),
                n.path("num_return_sequences").asInt(b.numReturnSequences()),
                n.path("length_penalty").asDouble(b.lengthPenalty()),
                n.path("repetition_penalty").asDouble(b.repetitionPenalty()),
                n.path("do_sample").asBoolean(b.doSample()),
                n.path("temperature").asDouble(b.temperature()),
                n.path("top_p").asDouble(b.topP()),
                n.path("top_k").asInt(b.topK()),
                b.seed());
    }

    public GenerationConfig forTask(Task task) {
        return byTask.getOrDefault(task, FALLBACK);
    }
}
