package dev.loupe.model.instructblip;

import static dev.loupe.model.testing.HfFixture.flat;
import static dev.loupe.model.testing.HfFixture.ints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.llm.DecodingState;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.t5.T5Config;
import dev.loupe.model.t5.T5Runner;
import dev.loupe.model.t5.T5StepDecoder;
import dev.loupe.model.testing.BatchOrders;
import dev.loupe.model.testing.ContinuousRun;
import dev.loupe.model.testing.ConvertedFixture;
import dev.loupe.model.testing.HfFixture;
import dev.loupe.model.text.InstructBlipPromptEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * BLIP-2 with Flan-T5 against the transformers reference ({@code fixtures/hf-reference/blip2-flant5}): preprocessing,
 * tokenization, every intermediate of the image side, the T5 encoder output and first-step logits, greedy and beam
 * generation, candidate ranking, and batch invariance. The printed max differences are the measured parity.
 */
class Blip2FlanT5AnnotatorTest {
    private static final HfFixture FIXTURE = HfFixture.named("blip2-flant5");
    private static final GenerationConfig TWELVE = GenerationConfig.greedy(12);
    private static final int SIZE = 48;

    @TempDir
    static Path tmp;

    static Path packageDir;
    static BatchAnnotator annotator;
    static ImagePreprocessor preprocessor;
    static JsonNode reference;

    @BeforeAll
    static void convertFixture(TestInfo testInfo) throws Exception {
        ConvertedFixture model = ConvertedFixture.convert(FIXTURE, tmp.resolve("pkg"), testInfo);
        reference = model.reference;
        packageDir = model.packageDir;
        annotator = model.openAnnotator();
        preprocessor = model.preprocessor;
    }

    @AfterAll
    static void close() {
        annotator.close();
    }

    private static ImageTensor image(String file) throws Exception {
        return preprocessor.preprocess(Files.readAllBytes(HfFixture.image(file)));
    }

    private static AnnotationInput input(String imageFile, String prompt, GenerationConfig g) throws Exception {
        return new AnnotationInput("id", image(imageFile), prompt, Task.VQA, List.of(), g);
    }

    private static AnnotationInput batchRow(int i, GenerationConfig g) throws Exception {
        JsonNode batch = reference.path("batch");
        return input(batch.path("images").get(i).asText(), batch.path("prompts").get(i).asText(), g);
    }

    private static int[] unpadded(String part, int r) {
        JsonNode in = reference.path(part).path("inputs");
        return HfFixture.unpadded(in.path("input_ids").path("values"), in.path("attention_mask").path("values"), r);
    }

    @Test
    void packageIsABlip2FlanT5PackageWithoutQFormerTokenizer(TestInfo testInfo) throws Exception {
        Manifest m = Manifest.read(packageDir);
        assertThat(m.family()).isEqualTo(InstructBlipPackage.FAMILY_BLIP2_T5);
        assertThat(m.dimensions().path(DecoderGraphKind.MANIFEST_FIELD).asText())
                .isEqualTo(ConvertedFixture.decoderFor(testInfo).label());
        assertThat(m.graphs()).containsKeys(InstructBlipPackage.GRAPH_ENCODER, InstructBlipPackage.GRAPH_DECODER);
        assertThat(m.tokenizers()).doesNotContainKey("qformer");
        assertThat(m.source().sha256()).isEqualTo(reference.path("model_sha256").asText());
        assertThat(m.specialTokens().eos()).containsExactly(1);
        assertThat(annotator.modelVersion()).isEqualTo(m.source().sha256());
    }

    @Test
    void pixelValuesAndPromptsMatchTheBlip2Processor() throws Exception {
        float worst = HfFixture.maxAbsDiff(image(reference.at("/single/image").asText()).chw(),
                FIXTURE.tensor("single.pixel_values"));
        float[] batch = FIXTURE.tensor("batch.pixel_values");
        for (int i = 0; i < 3; i++) {
            float[] mine = image(reference.at("/batch/images").get(i).asText()).chw();
            worst = Math.max(worst, HfFixture.maxAbsDiff(mine, HfFixture.slice(batch, i, 3)));
        }
        System.out.println("blip2-flant5 pixel_values max abs diff " + worst);
        assertThat(worst).isLessThanOrEqualTo(1e-5f);
        try (InstructBlipPromptEncoder prompts = InstructBlipPromptEncoder.fromCheckpoint(packageDir)) {
            assertThat(prompts.encode(reference.at("/single/prompt").asText()).inputIds())
                    .containsExactly(unpadded("single", 0));
            assertThat(prompts.encode(reference.at("/rank/prompt").asText()).inputIds())
                    .containsExactly(ints(reference.at("/rank/input_ids/values").get(0)));
            for (int i = 0; i < 3; i++) {
                assertThat(prompts.encode(reference.at("/batch/prompts").get(i).asText()).inputIds())
                        .as("batch row %d", i).containsExactly(unpadded("batch", i));
            }
        }
    }

    @Test
    void imageSideEncoderAndFirstStepLogitsMatchTransformers() throws Exception {
        InstructBlipConfig config = InstructBlipConfig.load(packageDir);
        Manifest m = Manifest.read(packageDir);
        try (ImageEncoder encoder = ImageEncoder.open(m.graph(packageDir, InstructBlipPackage.GRAPH_VISION),
                m.graph(packageDir, InstructBlipPackage.GRAPH_QFORMER), config, RuntimeOptions.cpu(1));
             T5StepDecoder t5 = new T5StepDecoder(T5Runner.open(m.graph(packageDir, InstructBlipPackage.GRAPH_EMBED),
                     m.graph(packageDir, InstructBlipPackage.GRAPH_ENCODER),
                     m.graph(packageDir, InstructBlipPackage.GRAPH_DECODER), T5Config.fromJson(config.textConfig()),
                     RuntimeOptions.cpu(1)))) {
            float worstImage = 0;
            float worstLogits = 0;
            for (String part : List.of("single", "batch")) {
                List<ImageTensor> images = FIXTURE.images(part + ".pixel_values", SIZE);
                ImageEncoder.Encoded e = encoder.encodeWithIntermediates(images, new long[images.size()][0]);
                float vision = HfFixture.maxAbsDiff(flat(e.imageEmbeds()), FIXTURE.tensor(part + ".vision_last_hidden_state"));
                float query = HfFixture.maxAbsDiff(flat(e.queryOutput()), FIXTURE.tensor(part + ".qformer_query_output"));
                float proj = HfFixture.maxAbsDiff(flat(e.languageInputs()),
                        FIXTURE.tensor(part + ".language_projection_output"));
                System.out.printf("blip2-flant5 %s max abs diff: vision %.3g, qformer %.3g, projection %.3g%n", part,
                        vision, query, proj);
                worstImage = Math.max(worstImage, Math.max(vision, Math.max(query, proj)));

                List<float[][]> inputs = new ArrayList<>();
                for (int r = 0; r < images.size(); r++) {
                    inputs.add(encoderInput(t5, e.languageInputs()[r], unpadded(part, r)));
                }
                if (part.equals("single")) {
                    float[][] in = inputs.get(0);
                    float[] hidden = t5.runner().encoderHiddenStates(flat(in), 1, in.length, ones(in.length));
                    float d = HfFixture.maxAbsDiff(hidden, FIXTURE.tensor("single.encoder_last_hidden_state"));
                    System.out.printf("blip2-flant5 T5 encoder output max abs diff %.3g%n", d);
                    assertThat(d).isLessThanOrEqualTo(1e-4f);
                }
                try (DecodingState first = t5.start(inputs)) {
                    for (int r = 0; r < images.size(); r++) {
                        String name = part.equals("single") ? "single.first_step_logits" : "batch.first_step_logits." + r;
                        worstLogits = Math.max(worstLogits, HfFixture.maxAbsDiff(first.lastLogits(r), FIXTURE.tensor(name)));
                    }
                }
            }
            System.out.printf("blip2-flant5 first-step logits max abs diff %.3g%n", worstLogits);
            assertThat(worstImage).isLessThanOrEqualTo(1e-4f);
            assertThat(worstLogits).isLessThanOrEqualTo(1e-4f);
        }
    }

    /** The projected queries in the image tokens' places, then the embedded prompt ids (EOS included). */
    private static float[][] encoderInput(T5StepDecoder t5, float[] queries, int[] inputIds) throws Exception {
        int d = t5.inputWidth();
        int k = queries.length / d;
        long[] text = Arrays.stream(inputIds, k, inputIds.length).asLongStream().toArray();
        float[] embeds = t5.embed(text, 1, text.length);
        float[][] out = new float[k + text.length][];
        for (int j = 0; j < k; j++) {
            out[j] = Arrays.copyOfRange(queries, j * d, (j + 1) * d);
        }
        for (int j = 0; j < text.length; j++) {
            out[k + j] = Arrays.copyOfRange(embeds, j * d, (j + 1) * d);
        }
        return out;
    }

    @Test
    void greedyAndBeamSearchMatchTransformers() throws Exception {
        JsonNode single = reference.path("single");
        AnnotationInput greedy = input(single.path("image").asText(), single.path("prompt").asText(), TWELVE);
        AnnotationInput beams = input(single.path("image").asText(), single.path("prompt").asText(),
                TWELVE.withBeams(3, 3));
        List<AnnotationOutcome> out = annotator.annotate(List.of(greedy, beams));

        Annotation a = out.get(0).annotation();
        JsonNode expected = single.path("greedy");
        assertThat(a.tokenIds()).containsExactly(ints(expected.path("new_token_ids")));
        double sum = 0;
        for (JsonNode step : expected.path("steps")) {
            sum += step.path("logprob").asDouble();
        }
        double mean = sum / expected.path("steps").size();
        System.out.printf("blip2-flant5 greedy score diff %.3g%n", Math.abs(a.score() - mean));
        assertThat(a.score()).isCloseTo(mean, within(1e-4));
        assertThat(a.text()).isEqualTo(expected.path("text").asText().strip());

        Annotation b = out.get(1).annotation();
        JsonNode expectedBeams = single.path("beam").path("beams");
        assertThat(b.sequences()).hasSize(3);
        double worst = 0;
        for (int i = 0; i < 3; i++) {
            Annotation.Sequence s = b.sequences().get(i);
            assertThat(s.tokenIds()).as("beam %d", i).containsExactly(ints(expectedBeams.get(i).path("new_token_ids")));
            double ref = expectedBeams.get(i).path("sequence_score").asDouble();
            worst = Math.max(worst, Math.abs(s.score() - ref));
            assertThat(s.score()).as("beam %d score", i).isCloseTo(ref, within(1e-4));
        }
        System.out.printf("blip2-flant5 beam score max abs diff %.3g%n", worst);

        Annotation inBatch = annotator.annotate(List.of(batchRow(1, TWELVE.withBeams(3, 3)), beams)).get(1).annotation();
        for (int i = 0; i < 3; i++) {
            assertThat(inBatch.sequences().get(i).tokenIds()).as("beam %d next to another request", i)
                    .containsExactly(b.sequences().get(i).tokenIds());
            assertThat(inBatch.sequences().get(i).score()).isCloseTo(b.sequences().get(i).score(), within(1e-5));
        }
    }

    @Test
    void everyRowOfEveryBatchEqualsItsAloneResult() throws Exception {
        JsonNode expected = reference.at("/batch/unpadded_check");
        List<AnnotationInput> rows = new ArrayList<>();
        List<int[]> expectedIds = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            rows.add(batchRow(i, TWELVE));
            expectedIds.add(ints(expected.get(i).path("unpadded_new_token_ids")));
            assertThat(expectedIds.get(i)).as("row %d as transformers' batch", i)
                    .containsExactly(ints(reference.at("/batch/greedy/rows").get(i).path("new_token_ids")));
        }
        double worst = BatchOrders.check(annotator, rows, expectedIds);
        System.out.println("blip2-flant5 batched vs alone score max abs diff " + worst);
    }

    /**
     * Continuous batching, two rows at a time: rows of 12, 3, 7, 5 and 9 tokens over the three prompts join while
     * others decode; each gets exactly its alone ids (scores within 1e-5), the 3-token row before the 12-token row.
     */
    @Test
    void continuousBatchingGivesEveryRowItsAloneResult() throws Exception {
        int[] lengths = {12, 3, 7, 5, 9};
        List<AnnotationInput> rows = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            rows.add(batchRow(i % 3, GenerationConfig.greedy(lengths[i]).withMinNewTokens(lengths[i])));
        }
        List<AnnotationOutcome> alone = ContinuousRun.alone(annotator, rows);
        ContinuousRun run = ContinuousRun.of(annotator, rows, 2);
        assertThat(run.handedOverBefore(1, 0)).as("the 3-token row leaves first").isTrue();
        run.assertAloneResults(alone);
        for (int i = 0; i < rows.size(); i++) {
            assertThat(run.outcomes().get(i).annotation().tokenIds()).as("row %d", i).hasSize(lengths[i]);
        }
    }

    @Test
    void candidateScoresMatchTransformersInAnyBatch() throws Exception {
        JsonNode rank = reference.path("rank");
        AnnotationInput ranked = BatchOrders.rankInput(rank, image(rank.path("image").asText()), TWELVE);
        JsonNode single = reference.path("single");
        AnnotationInput generated = input(single.path("image").asText(), single.path("prompt").asText(), TWELVE);

        double worst = BatchOrders.checkRanking(annotator, ranked, generated, rank,
                ints(single.path("greedy").path("new_token_ids")));
        System.out.printf("blip2-flant5 candidate score max abs diff %.3g%n", worst);
    }

    private static long[] ones(int n) {
        long[] out = new long[n];
        Arrays.fill(out, 1);
        return out;
    }
}
