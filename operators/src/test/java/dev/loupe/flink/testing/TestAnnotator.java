package dev.loupe.flink.testing;

import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.Task;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Test-only annotator, deterministic and batch invariant: the text is derived from the image's mean colour and the
 * prompt ({@link #expectedText}); RANK scores each candidate by minus its length. A prompt containing
 * {@link #POISON} makes the whole batch call throw (as a crashing model would); one containing {@link #REJECT}
 * gets a per-input PROMPT_TOO_LONG outcome.
 */
public final class TestAnnotator implements BatchAnnotator {
    public static final String POISON = "POISON";
    public static final String REJECT = "REJECT";
    public static final String MODEL_ID = "test-annotator";
    public static final String MODEL_VERSION = "v1";

    @Override
    public List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
        for (AnnotationInput input : batch) {
            if (input.prompt().contains(POISON)) {
                throw new IllegalStateException("poison input " + input.id());
            }
        }
        List<AnnotationOutcome> outcomes = new ArrayList<>(batch.size());
        for (AnnotationInput input : batch) {
            if (input.prompt().contains(REJECT)) {
                outcomes.add(AnnotationOutcome.failure(ErrorCode.PROMPT_TOO_LONG, "rejected " + input.id()));
                continue;
            }
            float[] rgb = input.pixels().chw();
            if (input.task() == Task.RANK) {
                List<Annotation.CandidateScore> scores = new ArrayList<>();
                String best = null;
                double bestScore = Double.NEGATIVE_INFINITY;
                for (String c : input.candidates()) {
                    double score = -c.length();
                    scores.add(new Annotation.CandidateScore(c, score));
                    if (score > bestScore) {
                        bestScore = score;
                        best = c;
                    }
                }
                outcomes.add(AnnotationOutcome.success(new Annotation(new int[0], best, bestScore, List.of(), scores)));
            } else {
                String text = expectedText(rgb, input.prompt());
                outcomes.add(AnnotationOutcome.success(
                        new Annotation(new int[] {text.length(), 2}, text, -1.0, List.of(), List.of())));
            }
        }
        return outcomes;
    }

    /** The text this annotator gives an image with mean colour {@code rgb} (each in [0, 1]) and a prompt. */
    public static String expectedText(float[] rgb, String prompt) {
        return String.format(Locale.ROOT, "%s -> rgb(%d,%d,%d)", prompt,
                Math.round(rgb[0] * 255), Math.round(rgb[1] * 255), Math.round(rgb[2] * 255));
    }

    @Override
    public String modelId() {
        return MODEL_ID;
    }

    @Override
    public String modelVersion() {
        return MODEL_VERSION;
    }

    @Override
    public void close() {}
}
