package dev.loupe.model.blip2;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.instructblip.InstructBlipConfig;
import dev.loupe.model.instructblip.InstructBlipConverter;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Converts a Hugging Face {@code Blip2ForConditionalGeneration} checkpoint into a {@value Blip2Package#FAMILY}
 * (OPT) or {@value Blip2Package#FAMILY_T5} (Flan-T5) package. BLIP-2 shares InstructBLIP's vision tower and Q-Former
 * modules (its Q-Former runs on the queries alone), so the graphs come from the shared Q-Former-family converter
 * ({@link InstructBlipConverter#convertQFormerModel}) with the OPT decoder of {@link dev.loupe.model.llm.OptGraphs}
 * or the T5 graphs of {@link dev.loupe.model.t5.T5Graphs}.
 */
public final class Blip2Converter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Blip2Converter() {}

    /** Whether a checkpoint directory holds a BLIP-2 model (any language model: OPT is checked on conversion). */
    public static boolean accepts(Path checkpointDir) {
        try {
            JsonNode config = JSON.readTree(checkpointDir.resolve("config.json").toFile());
            return InstructBlipConfig.BLIP2_MODEL_TYPE.equals(config.path("model_type").asText());
        } catch (IOException e) {
            return false;
        }
    }

    public static Manifest convert(Path checkpointDir, Path outDir, Precision precision) throws IOException {
        InstructBlipConfig config;
        try {
            config = InstructBlipConfig.load(checkpointDir);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        if (config.qformerTextInput()) {
            throw new IOException(checkpointDir + " is not a BLIP-2 checkpoint");
        }
        String lm = config.textConfig().path("model_type").asText();
        String family = switch (lm) {
            case "opt" -> Blip2Package.FAMILY;
            case "t5" -> Blip2Package.FAMILY_T5;
            default -> throw new IOException("BLIP-2 with a '" + lm
                    + "' language model is not supported by this build; only OPT and Flan-T5");
        };
        return InstructBlipConverter.convertQFormerModel(checkpointDir, outDir, precision, config, family);
    }
}
