package dev.loupe.model.llm;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.onnx.GraphBuilder;
import java.util.Map;
import java.util.Set;

/**
 * A graph tail that gives each logits row's best tokens and their log-probabilities, so that generation which only
 * needs a few candidates per step (greedy, beam search; see {@link TokenChoices#needed}) copies
 * {@code rows * k * 12} bytes out of ONNX Runtime instead of {@code rows * vocab * 4} and does no log-softmax in
 * Java. ONNX Runtime computes and copies only the outputs a run asks for, so the logits output stays available
 * to the requests that need the whole distribution, from the same graph.
 *
 * <p>Appended after any decoder's logits {@code [batch, positions, vocab]}: input {@value #CHOICE_COUNT} int64 [1]
 * (k, 1 &lt;= k &lt;= vocab), outputs {@value #CHOICE_IDS} int64 [batch, positions, k] (the k largest logits' ids,
 * largest first, ties to the lower id as torch.argmax) and {@value #CHOICE_LOG_PROBS} float32
 * [batch, positions, k] (log_softmax of the logits at those ids). The ids are chosen on the raw logits, so the first
 * one is exactly the argmax the full-logits path takes.
 */
public final class TokenChoiceHead {
    /** Input: how many choices per row, int64 [1]. */
    public static final String CHOICE_COUNT = "choice_count";
    /** Output: the chosen ids, int64 [batch, positions, k], best first. */
    public static final String CHOICE_IDS = "choice_ids";
    /** Output: log_softmax(logits) at the chosen ids, float32 [batch, positions, k]. */
    public static final String CHOICE_LOG_PROBS = "choice_log_probs";

    private TokenChoiceHead() {}

    /**
     * Adds the tail after {@code logits} (a tensor of {@code g}, [batch, positions, vocab]).
     *
     * @param positionsDim the logits' positions dimension as the graph declares it (a name or a fixed size)
     */
    public static void append(GraphBuilder g, String logits, Object positionsDim) {
        String k = g.input(CHOICE_COUNT, DataType.INT64, 1);
        String[] top = g.opN("TopK", 2, Map.of("axis", -1L, "largest", 1L, "sorted", 1L), logits, k);
        String logProbs = g.op("LogSoftmax", Map.of("axis", -1L), logits);
        String chosen = g.op("GatherElements", Map.of("axis", -1L), logProbs, top[1]);
        g.output(top[1], CHOICE_IDS, DataType.INT64, "batch", positionsDim, "choices");
        g.output(chosen, CHOICE_LOG_PROBS, DataType.FLOAT, "batch", positionsDim, "choices");
    }

    /** Whether a decoder session with these output names has the tail (packages written before it do not). */
    public static boolean offeredBy(Set<String> outputNames) {
        return outputNames.contains(CHOICE_IDS) && outputNames.contains(CHOICE_LOG_PROBS);
    }
}
