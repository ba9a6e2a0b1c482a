package dev.loupe.flink.batch;

import org.apache.flink.configuration.DescribedEnum;
import org.apache.flink.configuration.description.InlineElement;

import static org.apache.flink.configuration.description.TextElement.text;

/** How the inference operator groups requests for the model (the {@code batch.scheduling} setting). */
public enum Scheduling implements DescribedEnum {
    /** Batches formed before generation: every row of a batch waits for its longest member. */
    STATIC("Batches formed before generation (batch.max-size requests, or fewer after batch.max-delay); every "
            + "request of a batch is emitted when its longest member finishes."),
    /** Step-level (continuous) scheduling: rows join and leave the decode loop step by step. */
    CONTINUOUS("Requests join the running decode loop at step boundaries (at most batch.max-size rows decode at once) "
            + "and each is emitted the moment its row finishes; batch.max-delay is how long an idle loop waits to "
            + "fill its first prefill. Beam search and ranking requests keep whole-request batches.");

    /**
     * The default's name, a constant for command-line annotations ({@code --scheduling} of the jobs, {@code loupe
     * bench} and {@code loupe bench soak}), so that the option and every command default to the same loop.
     */
    public static final String DEFAULT_NAME = "continuous";

    private final String description;

    Scheduling(String description) {
        this.description = description;
    }

    /** The default scheduling ({@link #DEFAULT_NAME}). */
    public static Scheduling byDefault() {
        return parse(DEFAULT_NAME);
    }

    /** The scheduling named {@code name} ({@code static} or {@code continuous}, any case). */
    public static Scheduling parse(String name) {
        return valueOf(name.trim().toUpperCase(java.util.Locale.ROOT));
    }

    @Override
    public InlineElement getDescription() {
        return text(description);
    }
}
