package dev.loupe.model.api;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * One (image, prompt) pair ready for the model: pixels already preprocessed, prompt already templated
 * (see {@link Prompts}). Candidates are used by {@link Task#RANK} only.
 */
public record AnnotationInput(
        String id,
        ImageTensor pixels,
        String prompt,
        Task task,
        List<String> candidates,
        GenerationConfig generation) implements Serializable {

    public AnnotationInput {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(pixels, "pixels");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(task, "task");
        candidates = candidates == null ? List.of() : List.copyOf(candidates);
        generation = generation == null ? GenerationConfig.GREEDY : generation;
    }
}
