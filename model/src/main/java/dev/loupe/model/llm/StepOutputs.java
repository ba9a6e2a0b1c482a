package dev.loupe.model.llm;

/**
 * What one decoder run hands back to Java: the logits (the whole distribution, for the requests whose logits
 * processors need it) and/or each row's top {@code choices} ids and log-probs from {@link TokenChoiceHead} (0: none).
 * ONNX Runtime copies only the outputs asked for.
 */
public record StepOutputs(boolean logits, int choices) {
    /** The logits only: what every package serves. */
    public static final StepOutputs LOGITS = new StepOutputs(true, 0);

    public StepOutputs {
        if (choices < 0 || (!logits && choices == 0)) {
            throw new IllegalArgumentException("a run must return logits or at least one choice, got logits "
                    + logits + ", choices " + choices);
        }
    }

    /** The top {@code k} choices only. */
    public static StepOutputs choices(int k) {
        return new StepOutputs(false, k);
    }
}
