package dev.loupe.model.api;

import java.io.Serializable;
import java.util.List;

/**
 * The model's answer for one input. For generation: the best sequence's generated ids (with the final
 * end-of-sequence id when one was generated), its text and its Hugging Face beam score, plus all returned
 * sequences when more than one was asked for. For ranking: one score per candidate, in input order, and the
 * best candidate as text.
 */
public record Annotation(
        int[] tokenIds,
        String text,
        double score,
        List<Sequence> sequences,
        List<CandidateScore> candidates) implements Serializable {

    public Annotation {
        tokenIds = tokenIds == null ? new int[0] : tokenIds;
        sequences = sequences == null ? List.of() : List.copyOf(sequences);
        candidates = candidates == null ? List.of() : List.copyOf(candidates);
    }

    /** One generated sequence. */
    public record Sequence(int[] tokenIds, String text, double score) implements Serializable {}

    /** A candidate answer's summed log-probability given image and prompt. */
    public record CandidateScore(String text, double score) implements Serializable {}
}
