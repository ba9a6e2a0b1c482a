package dev.loupe.model.instructblip;

import static dev.loupe.model.testing.HfFixture.flat;
import static dev.loupe.model.testing.HfFixture.ints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.llm.GreedyGenerator;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.BatchOrders;
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
 * BLIP-2 with OPT against the transformers reference ({@code fixtures/hf-reference/blip2-opt}): preprocessing,
 * tokenization, every intermediate of the image side, first-step logits, greedy and beam generation, candidate
 * ranking, and batch invariance. The printed max differences are the measured parity.
 */
class Blip2OptAnnotatorTest {
    private static final GenerationConfig TWELVE = GenerationConfig.greedy(12);

    @TempDir
    static Path tmp;

    static Path fixture;
    static Path packageDir;
    static AnnotatorFactory factory;
    static BatchAnnotator annotator;
    static ImagePreprocessor preprocessor;
    static JsonNode reference;

    @BeforeAll
    static void convertFixture(TestInfo testInfo) throws Exception {
        fixture = HfFixture.root().resolve("blip2-opt");
        ConvertedFixture model = ConvertedFixture.convert(HfFixture.BLIP2_OPT, tmp.resolve("pkg"), testInfo);
        reference = model.reference;
        packageDir = model.packageDir;
        factory = model.factory;
        annotator = model.openAnnotator();
        preprocessor = model.preprocessor;
    }

    @AfterAll
    static void close() {
        annotator.close();
    }

    private static float[] tensor(String name) throws Exception {
        return HfFixture.readF32(fixture.resolve("tensors.safetensors"), name);
    }

    private static ImageTensor image(String file) throws Exception {
        return preprocessor.preprocess(Files.readAllBytes(fixture.resolve("../images").resolve(file)));
    }

    private static AnnotationInput input(String id, String imageFile, String prompt, GenerationConfig g)
            throws Exception {
        return new AnnotationInput(id, image(imageFile), prompt, Task.VQA, List.of(), g);
    }

    /** Row r of an id matrix without its padding. */
    private static int[] unpadded(JsonNode inputs, int r) {
        JsonNode ids = inputs.path("input_ids").path("values").get(r);
        JsonNode mask = inputs.path("attention_mask").path("values").get(r);
        List<Integer> out = new ArrayList<>();
        for (int c = 0; c < ids.size(); c++) {
            if (mask.get(c).asInt() == 1) {
                out.add(ids.get(c).asInt());
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    static float maxAbsDiff(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            float d = Math.abs(a[i] - b[i]);
            m = Float.isNaN(d) ? Float.NaN : Math.max(m, d);
        }
        return m;
    }

    @Test
    void packageIsABlip2OptPackageWithoutQFormerTokenizer(TestInfo testInfo) throws Exception {
        Manifest m = Manifest.read(packageDir);
        assertThat(m.family()).isEqualTo(InstructBlipPackage.FAMILY_BLIP2_OPT);
        assertThat(m.dimensions().path(DecoderGraphKind.MANIFEST_FIELD).asText())
                .isEqualTo(ConvertedFixture.decoderFor(testInfo).label());
        assertThat(m.source().sha256()).isEqualTo(reference.path("model_sha256").asText());
        assertThat(m.specialTokens().eos()).containsExactly(2);
        assertThat(m.specialTokens().image()).isEqualTo(320);
        assertThat(m.tokenizers()).doesNotContainKey("qformer");
        assertThat(annotator.modelVersion()).isEqualTo(m.source().sha256());
    }

    @Test
    void pixelValuesMatchTheBlipImageProcessor() throws Exception {
        float single = maxAbsDiff(image(reference.at("/single/image").asText()).chw(), tensor("single.pixel_values"));
        float[] batch = tensor("batch.pixel_values");
        int per = batch.length / 3;
        float worst = single;
        for (int i = 0; i < 3; i++) {
            float[] mine = image(reference.at("/batch/images").get(i).asText()).chw();
            worst = Math.max(worst, maxAbsDiff(mine, Arrays.copyOfRange(batch, i * per, (i + 1) * per)));
        }
        System.out.println("blip2-opt pixel_values max abs diff " + worst);
        assertThat(worst).isLessThanOrEqualTo(1e-5f);
    }

    @Test
    void promptsTokenizeAsTheBlip2Processor() throws Exception {
        try (InstructBlipPromptEncoder prompts = InstructBlipPromptEncoder.fromCheckpoint(packageDir)) {
            assertThat(prompts.encode(reference.at("/single/prompt").asText()).inputIds())
                    .containsExactly(unpadded(reference.at("/single/inputs"), 0));
            assertThat(prompts.encode(reference.at("/rank/prompt").asText()).inputIds())
                    .containsExactly(ints(reference.at("/rank/input_ids/values").get(0)));
            for (int i = 0; i < 3; i++) {
                assertThat(prompts.encode(reference.at("/batch/prompts").get(i).asText()).inputIds())
                        .as("batch row %d", i).containsExactly(unpadded(reference.at("/batch/inputs"), i));
            }
        }
    }

    @Test
    void visionQFormerAndProjectionMatchTransformers() throws Exception {
        InstructBlipConfig config = InstructBlipConfig.load(packageDir);
        Manifest m = Manifest.read(packageDir);
        try (ImageEncoder encoder = ImageEncoder.open(m.graph(packageDir, InstructBlipPackage.GRAPH_VISION),
                m.graph(packageDir, InstructBlipPackage.GRAPH_QFORMER), config, RuntimeOptions.cpu(1))) {
            float worst = 0;
            for (String part : List.of("single", "batch")) {
                float[] pixels = tensor(part + ".pixel_values");
                int per = 3 * 40 * 40;
                List<ImageTensor> images = new ArrayList<>();
                for (int b = 0; b < pixels.length / per; b++) {
                    images.add(new ImageTensor(Arrays.copyOfRange(pixels, b * per, (b + 1) * per), 3, 40, 40));
                }
                ImageEncoder.Encoded e = encoder.encodeWithIntermediates(images, new long[images.size()][0]);
                float vision = maxAbsDiff(flat(e.imageEmbeds()), tensor(part + ".vision_last_hidden_state"));
                float qformer = maxAbsDiff(flat(e.queryOutput()), tensor(part + ".qformer_query_output"));
                float projection = maxAbsDiff(flat(e.languageInputs()), tensor(part + ".language_projection_output"));
                System.out.printf("blip2-opt %s max abs diff: vision %.3g, qformer %.3g, projection %.3g%n", part,
                        vision, qformer, projection);
                assertThat(tensor(part + ".qformer_last_hidden_state")).containsExactly(
                        tensor(part + ".qformer_query_output"));
                worst = Math.max(worst, Math.max(vision, Math.max(qformer, projection)));
            }
            assertThat(worst).isLessThanOrEqualTo(1e-4f);
        }
    }

    @Test
    void firstStepLogitsMatchTransformers() throws Exception {
        InstructBlipConfig config = InstructBlipConfig.load(packageDir);
        Manifest m = Manifest.read(packageDir);
        try (LanguageModelRunner lm = LanguageModelRunner.open(m.graph(packageDir, InstructBlipPackage.GRAPH_EMBED),
                m.graph(packageDir, InstructBlipPackage.GRAPH_DECODER), DecoderGraphs.config(config.textConfig()), 1)) {
            float worst = maxAbsDiff(firstLogits(lm, tensor("single.language_projection_output"), 0, 1,
                    unpadded(reference.at("/single/inputs"), 0)), tensor("single.first_step_logits"));
            for (int i = 0; i < 3; i++) {
                worst = Math.max(worst, maxAbsDiff(firstLogits(lm, tensor("batch.language_projection_output"), i, 3,
                        unpadded(reference.at("/batch/inputs"), i)), tensor("batch.first_step_logits." + i)));
            }
            System.out.println("blip2-opt first-step logits max abs diff " + worst);
            assertThat(worst).isLessThanOrEqualTo(1e-4f);
        }
    }

    /**
     * Row {@code row}'s logits after [projected queries ; embedded text ids] (the ids without image tokens), through
     * the package's own decoder graph (fused or plain) as generation runs it.
     */
    private static float[] firstLogits(LanguageModelRunner lm, float[] projections, int row, int rows, int[] inputIds)
            throws Exception {
        int hidden = lm.config().hiddenSize();
        int k = 4;
        long[] text = Arrays.stream(inputIds, k, inputIds.length).asLongStream().toArray();
        float[] textEmbeds = lm.embed(text, 1, text.length);
        int len = k + text.length;
        float[][] prefix = new float[len][hidden];
        int per = projections.length / rows;
        for (int t = 0; t < len; t++) {
            if (t < k) {
                System.arraycopy(projections, row * per + t * hidden, prefix[t], 0, hidden);
            } else {
                System.arraycopy(textEmbeds, (t - k) * hidden, prefix[t], 0, hidden);
            }
        }
        return new GreedyGenerator(lm, reference.at("/special_ids/pad").asLong(1))
                .generate(List.<float[][]>of(prefix), GenerationConfig.greedy(1), new int[0], true).get(0)
                .firstStepLogits();
    }

    @Test
    void greedyMatchesTransformers() throws Exception {
        JsonNode single = reference.path("single");
        AnnotationOutcome out = annotator.annotate(List.of(
                input("s", single.path("image").asText(), single.path("prompt").asText(), TWELVE))).get(0);
        assertThat(out.isSuccess()).as("%s", out).isTrue();
        JsonNode greedy = single.path("greedy");
        assertThat(out.annotation().tokenIds()).containsExactly(ints(greedy.path("new_token_ids")));
        double sum = 0;
        for (JsonNode step : greedy.path("steps")) {
            sum += step.path("logprob").asDouble();
        }
        double expected = sum / greedy.path("steps").size();
        System.out.println("blip2-opt greedy score diff " + Math.abs(out.annotation().score() - expected));
        assertThat(out.annotation().score()).isCloseTo(expected, within(1e-4));
    }

    @Test
    void beamSearchMatchesTransformers() throws Exception {
        JsonNode single = reference.path("single");
        JsonNode beams = single.at("/beam/beams");
        AnnotationOutcome out = annotator.annotate(List.of(input("b", single.path("image").asText(),
                single.path("prompt").asText(), TWELVE.withBeams(3, 3)))).get(0);
        assertThat(out.isSuccess()).as("%s", out).isTrue();
        List<Annotation.Sequence> sequences = out.annotation().sequences();
        assertThat(sequences).hasSize(beams.size());
        double worst = 0;
        for (int i = 0; i < beams.size(); i++) {
            assertThat(sequences.get(i).tokenIds()).as("beam %d", i)
                    .containsExactly(ints(beams.get(i).path("new_token_ids")));
            worst = Math.max(worst, Math.abs(sequences.get(i).score() - beams.get(i).path("sequence_score").asDouble()));
        }
        System.out.println("blip2-opt beam score max abs diff " + worst);
        assertThat(worst).isLessThanOrEqualTo(1e-4);
    }

    @Test
    void candidateScoresMatchTransformers() throws Exception {
        JsonNode rank = reference.path("rank");
        AnnotationInput ranked = BatchOrders.rankInput(rank, image(rank.path("image").asText()), TWELVE);
        JsonNode single = reference.path("single");
        AnnotationInput generated = input("gen", single.path("image").asText(), single.path("prompt").asText(), TWELVE);

        double worst = BatchOrders.checkRanking(annotator, ranked, generated, rank,
                ints(single.path("greedy").path("new_token_ids")));
        System.out.println("blip2-opt candidate score max abs diff " + worst);
    }

    @Test
    void everyRowOfEveryBatchEqualsItsAloneResult() throws Exception {
        JsonNode batch = reference.path("batch");
        JsonNode expected = batch.path("unpadded_check");
        List<AnnotationInput> rows = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            rows.add(input("r" + i, batch.path("images").get(i).asText(), batch.path("prompts").get(i).asText(),
                    TWELVE));
        }
        List<int[]> expectedIds = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            expectedIds.add(ints(expected.get(i).path("unpadded_new_token_ids")));
            assertThat(expectedIds.get(i)).as("row %d as transformers' batch", i)
                    .containsExactly(ints(reference.at("/batch/greedy/rows").get(i).path("new_token_ids")));
        }
        double worst = BatchOrders.check(annotator, rows, expectedIds);
        System.out.println("blip2-opt batched vs alone score max abs diff " + worst);
    }

    @Test
    void rowsJoiningAndLeavingMidwayGiveTheirAloneResults() throws Exception {
        // rows of different lengths, max_new_tokens and decoding (greedy and beam search) through the continuous loop
        // with two active rows: a short row leaves while its neighbour decodes and the next joins into its slot
        JsonNode batch = reference.path("batch");
        List<AnnotationInput> rows = new ArrayList<>();
        int[] lengths = {3, 12, 5, 9};
        for (int i = 0; i < lengths.length; i++) {
            rows.add(input("c" + i, batch.path("images").get(i % 3).asText(), batch.path("prompts").get(i % 3).asText(),
                    GenerationConfig.greedy(lengths[i]).withMinNewTokens(lengths[i])));
        }
        rows.add(input("beam", batch.path("images").get(0).asText(), batch.path("prompts").get(1).asText(),
                GenerationConfig.greedy(6).withBeams(2, 1)));
        List<AnnotationOutcome> alone = new ArrayList<>();
        for (AnnotationInput row : rows) {
            alone.add(annotator.annotate(List.of(row)).get(0));
        }
        List<Integer> order = new ArrayList<>();
        AnnotationOutcome[] got = new AnnotationOutcome[rows.size()];
        annotator.annotateContinuously(rows, 2, (index, outcome) -> {
            got[index] = outcome;
            order.add(index);
        });
        assertThat(order).hasSize(rows.size());
        assertThat(order.indexOf(0)).isLessThan(order.indexOf(1)); // row 0 (3 tokens) leaves before row 1 (12)
        for (int i = 0; i < rows.size(); i++) {
            assertThat(got[i].isSuccess()).as("row %d: %s", i, got[i]).isTrue();
            Annotation want = alone.get(i).annotation();
            assertThat(got[i].annotation().tokenIds()).as("row %d", i).containsExactly(want.tokenIds());
            assertThat(got[i].annotation().score()).as("row %d", i).isCloseTo(want.score(), within(1e-5));
        }
    }
}
