package dev.loupe.model.layers;

import dev.loupe.model.onnx.GraphBuilder;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The hidden activations (transformers' ACT2FN names) that the graphs can express in ONNX ops: one list for every
 * family (BLIP and CLIP encoders, T5's feed-forward), so that each config field accepts and rejects the same names.
 */
public enum Activation {
    /** Exact erf GELU. */
    GELU("gelu"),
    /** tanh-approximated GELU, under its three transformers names. */
    GELU_TANH("gelu_new", "gelu_pytorch_tanh", "gelu_fast"),
    QUICK_GELU("quick_gelu"),
    RELU("relu"),
    SILU("silu", "swish");

    private final String[] names;

    Activation(String... names) {
        this.names = names;
    }

    /** Every config name accepted, for "supported" lists. */
    public static Set<String> names() {
        return Arrays.stream(values()).flatMap(a -> Arrays.stream(a.names)).collect(Collectors.toUnmodifiableSet());
    }

    /** Looks up an activation by its config name; {@code field} names the config field in the error. */
    public static Activation of(String field, String name) {
        for (Activation a : values()) {
            for (String n : a.names) {
                if (n.equals(name)) {
                    return a;
                }
            }
        }
        throw new IllegalArgumentException(field + " '" + name + "' is not supported (supported: "
                + names().stream().sorted().collect(Collectors.joining(", ")) + ")");
    }

    /** Appends this activation applied to {@code x}. */
    public String apply(GraphBuilder g, String x) {
        return switch (this) {
            case GELU -> g.gelu(x);
            case GELU_TANH -> {
                // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
                String cube = g.mul(g.mul(x, x), x);
                String inner = g.mul(g.add(x, g.mul(cube, g.scalar(0.044715f))),
                        g.scalar((float) Math.sqrt(2.0 / Math.PI)));
                yield g.mul(g.mul(x, g.add(g.op("Tanh", inner), g.scalar(1f))), g.scalar(0.5f));
            }
            case QUICK_GELU -> g.mul(x, g.sigmoid(g.mul(x, g.scalar(1.702f))));
            case RELU -> g.op("Relu", x);
            case SILU -> g.silu(x);
        };
    }
}
