package dev.loupe.model.llava;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.image.ClipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.llm.DecodingState;
import dev.loupe.model.llm.StepDecoder;
import dev.loupe.model.llm.LlamaConfig;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.testing.ConvertedFixture;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.testing.HfFixture;
import dev.loupe.model.testing.TestDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stage-by-stage parity with transformers on the llava fixture: CLIP preprocessing from the PNG bytes, the
 * processor's input ids, the CLIP hidden states, selected features and projector output, and the first
 * generated position's logits.
 */
class LlavaParityTest {
    @TempDir
    static Path tmp;

    static JsonNode reference;
    static LlavaConfig config;
    static ClipImageProcessor preprocessor;
    static LlavaImageEncoder diagnostics;
    static LlavaAnnotator annotator;

    @BeforeAll
    static void setUp(TestInfo testInfo) throws Exception {
        reference = HfFixture.LLAVA.reference();
        config = LlavaConfig.load(HfFixture.LLAVA.checkpoint());
        preprocessor = ClipImageProcessor.fromCheckpoint(HfFixture.LLAVA.checkpoint(), new ImageDecoder());
        int llmHidden = LlamaConfig.fromJson(config.textConfig()).hiddenSize();
        Path graph = tmp.resolve("image-diagnostics.onnx");
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(HfFixture.LLAVA.checkpoint())) {
            OnnxModelWriter.write(LlavaImageGraph.build(config, ckpt, "", llmHidden, true), graph);
        }
        diagnostics = LlavaImageEncoder.open(graph, config, RuntimeOptions.cpu(1));
        LlavaConverter.convert(HfFixture.LLAVA.checkpoint(), tmp.resolve("pkg"), Precision.FP32,
                ConvertedFixture.decoderFor(testInfo));
        RuntimeOptions.Runner runner = ConvertedFixture.runnerFor(testInfo);
        RuntimeOptions options = RuntimeOptions.cpu(1).withRunner(runner);
        annotator = LlavaAnnotator.open(tmp.resolve("pkg"),
                runner == RuntimeOptions.Runner.DEVICE_BOUND ? TestDevice.apply(options) : options);
    }

    @AfterAll
    static void tearDown() throws Exception {
        diagnostics.close();
        annotator.close();
    }

    private static ImageTensor image(String file) throws Exception {
        return preprocessor.preprocess(Files.readAllBytes(HfFixture.image(file)));
    }

    private static List<String> batchImages() {
        List<String> files = new ArrayList<>();
        reference.path("batch").path("images").forEach(n -> files.add(n.asText()));
        return files;
    }

    @Test
    void pixelValuesMatchTheClipImageProcessor() throws Exception {
        float single = HfFixture.maxAbsDiff(image(reference.path("single").path("image").asText()).chw(),
                HfFixture.LLAVA.tensor("single.pixel_values"));
        float[] expected = HfFixture.LLAVA.tensor("batch.pixel_values");
        float batch = 0;
        List<String> files = batchImages();
        for (int i = 0; i < files.size(); i++) {
            ImageTensor t = image(files.get(i));
            assertThat(t.height()).isEqualTo(48);
            assertThat(t.width()).isEqualTo(48);
            batch = Math.max(batch, HfFixture.maxAbsDiff(t.chw(), HfFixture.slice(expected, i, files.size())));
        }
        System.out.printf("llava pixel_values max abs diff: single %.3g, batch %.3g%n", single, batch);
        assertThat(single).isLessThanOrEqualTo(1e-5f);
        assertThat(batch).isLessThanOrEqualTo(1e-5f);
    }

    @Test
    void plainPromptsAreTemplatedAndExpandedAsTheProcessorDoes() throws Exception {
        JsonNode single = reference.path("single");
        int[] expected = HfFixture.ints(single.path("inputs").path("input_ids").path("values").get(0));
        assertThat(annotator.inputIds(LlavaTemplate.plain(single.path("prompt").asText()))).containsExactly(expected);
        assertThat(annotator.inputIds(single.path("prompt").asText())).as("already templated").containsExactly(expected);

        JsonNode batch = reference.path("batch");
        JsonNode ids = batch.path("inputs").path("input_ids").path("values");
        JsonNode mask = batch.path("inputs").path("attention_mask").path("values");
        for (int r = 0; r < ids.size(); r++) {
            assertThat(annotator.inputIds(LlavaTemplate.plain(batch.path("prompts").get(r).asText())))
                    .as("batch row %d", r).containsExactly(HfFixture.unpadded(ids, mask, r));
        }
        JsonNode rank = reference.path("rank");
        assertThat(annotator.inputIds(LlavaTemplate.plain(rank.path("prompt").asText())))
                .containsExactly(HfFixture.ints(rank.path("input_ids").path("values").get(0)));
    }

    @Test
    void visionFeaturesAndProjectorOutputMatchTransformers() throws Exception {
        String[] outputs = {LlavaImageGraph.LAST_HIDDEN_STATE, LlavaImageGraph.SELECTED_HIDDEN_STATE,
                LlavaImageGraph.VISION_FEATURES, LlavaImageGraph.IMAGE_FEATURES};
        String[] names = {"vision_last_hidden_state", "vision_selected_hidden_state", "vision_selected_features",
                "language_projection_output"};
        for (String set : List.of("single", "batch")) {
            float[] pixels = HfFixture.LLAVA.tensor(set + ".pixel_values");
            int rows = pixels.length / (3 * 48 * 48);
            List<ImageTensor> images = new ArrayList<>();
            for (int r = 0; r < rows; r++) {
                images.add(new ImageTensor(HfFixture.slice(pixels, r, rows), 3, 48, 48));
            }
            Map<String, float[][]> got = diagnostics.run(images, outputs);
            for (int o = 0; o < outputs.length; o++) {
                float[] expected = HfFixture.LLAVA.tensor(set + "." + names[o]);
                float max = 0;
                for (int r = 0; r < rows; r++) {
                    max = Math.max(max, HfFixture.maxAbsDiff(got.get(outputs[o])[r],
                            HfFixture.slice(expected, r, rows)));
                }
                System.out.printf("llava %s.%s max abs diff %.3g%n", set, names[o], max);
                assertThat(max).as("%s.%s", set, names[o]).isLessThanOrEqualTo(1e-4f);
            }
        }
    }

    @Test
    void packagedImageGraphGivesTheProjectorOutput() throws Exception {
        float[] expected = HfFixture.LLAVA.tensor("single.language_projection_output");
        float[][][] got = annotator.imageEncoder().encode(List.of(image(reference.path("single").path("image").asText())));
        float[] flat = new float[expected.length];
        for (int t = 0; t < got[0].length; t++) {
            System.arraycopy(got[0][t], 0, flat, t * got[0][t].length, got[0][t].length);
        }
        assertThat(HfFixture.maxAbsDiff(flat, expected)).isLessThanOrEqualTo(1e-4f);
    }

    @Test
    void firstStepLogitsMatchTransformers() throws Exception {
        JsonNode single = reference.path("single");
        float singleDiff = HfFixture.maxAbsDiff(firstStepLogits(single.path("image").asText(),
                single.path("prompt").asText()), HfFixture.LLAVA.tensor("single.first_step_logits"));
        System.out.printf("llava single.first_step_logits max abs diff %.3g%n", singleDiff);
        assertThat(singleDiff).isLessThanOrEqualTo(1e-4f);
        JsonNode batch = reference.path("batch");
        for (int r = 0; r < 3; r++) {
            float d = HfFixture.maxAbsDiff(firstStepLogits(batch.path("images").get(r).asText(),
                    batch.path("prompts").get(r).asText()), HfFixture.LLAVA.tensor("batch.first_step_logits." + r));
            System.out.printf("llava batch.first_step_logits.%d max abs diff %.3g%n", r, d);
            assertThat(d).as("batch row %d", r).isLessThanOrEqualTo(1e-4f);
        }
    }

    /** The last position's logits of one request run alone, built from the public stages. */
    private static float[] firstStepLogits(String imageFile, String prompt) throws Exception {
        int[] ids = annotator.inputIds(prompt);
        float[][] features = annotator.imageEncoder().encode(List.of(image(imageFile)))[0];
        StepDecoder lm = annotator.languageModel();
        int hidden = lm.inputWidth();
        long[] lookup = Arrays.stream(ids).mapToLong(id -> id == config.imageTokenIndex() ? 0 : id).toArray();
        float[] embeds = lm.embed(lookup, 1, ids.length);
        int next = 0;
        for (int p = 0; p < ids.length; p++) {
            if (ids[p] == config.imageTokenIndex()) {
                System.arraycopy(features[next++], 0, embeds, p * hidden, hidden);
            }
        }
        assertThat(next).isEqualTo(features.length);
        float[][] prefix = new float[ids.length][];
        for (int p = 0; p < ids.length; p++) {
            prefix[p] = Arrays.copyOfRange(embeds, p * hidden, (p + 1) * hidden);
        }
        // through the annotator's step decoder, which runs either decoder graph with either runner
        try (DecodingState state = lm.start(List.<float[][]>of(prefix))) {
            return state.lastLogits(0);
        }
    }
}
