package dev.loupe.model.instructblip;

import static dev.loupe.model.testing.HfFixture.ints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationFeed;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.GenerationSplit;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.Task;
import dev.loupe.model.testing.ConvertedFixture;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * Beam search, sampling and the repetition penalty through the whole InstructBLIP annotator (PNG bytes in): beams
 * against the transformers reference, and every option's batch invariance over the fixture's batch rows.
 */
class InstructBlipGenerationOptionsTest {
    private static final GenerationConfig BEAMS = GenerationConfig.greedy(12).withBeams(3, 3);

    @TempDir
    static Path tmp;

    static BatchAnnotator annotator;
    static ImagePreprocessor preprocessor;
    static JsonNode reference;
    static double maxBeamScoreDiff;

    @BeforeAll
    static void convertFixture(TestInfo testInfo) throws Exception {
        ConvertedFixture model = ConvertedFixture.convert(HfFixture.VICUNA, tmp.resolve("pkg"), testInfo);
        annotator = model.openAnnotator();
        preprocessor = model.preprocessor;
        reference = model.reference;
    }

    @AfterAll
    static void close() {
        annotator.close();
    }

    private static AnnotationInput input(String imageFile, String prompt, GenerationConfig config) throws Exception {
        byte[] png = Files.readAllBytes(HfFixture.VICUNA.dir().resolve("../images").resolve(imageFile));
        return new AnnotationInput(imageFile, preprocessor.preprocess(png), prompt, Task.VQA, List.of(), config);
    }

    private static List<AnnotationInput> batchRows(GenerationConfig config) throws Exception {
        JsonNode batch = reference.path("batch");
        List<AnnotationInput> rows = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            rows.add(input(batch.path("images").get(i).asText(), batch.path("prompts").get(i).asText(), config));
        }
        return rows;
    }

    private static Annotation annotateOne(AnnotationInput in) {
        AnnotationOutcome o = annotator.annotate(List.of(in)).get(0);
        assertThat(o.isSuccess()).as("%s", o).isTrue();
        return o.annotation();
    }

    @Test
    void beamSearchMatchesTransformers() throws Exception {
        JsonNode single = reference.path("single");
        JsonNode expected = single.path("beam").path("beams");
        Annotation a = annotateOne(input(single.path("image").asText(), single.path("prompt").asText(), BEAMS));

        assertThat(a.sequences()).hasSize(3);
        double maxDiff = 0;
        for (int j = 0; j < 3; j++) {
            Annotation.Sequence s = a.sequences().get(j);
            assertThat(s.tokenIds()).as("beam %d", j).containsExactly(ints(expected.get(j).path("new_token_ids")));
            double want = expected.get(j).path("sequence_score").asDouble();
            assertThat(s.score()).as("beam %d score", j).isCloseTo(want, within(1e-4));
            maxDiff = Math.max(maxDiff, Math.abs(s.score() - want));
        }
        assertThat(a.tokenIds()).containsExactly(a.sequences().get(0).tokenIds());
        assertThat(a.score()).isEqualTo(a.sequences().get(0).score());
        assertThat(a.text()).isEqualTo(a.sequences().get(0).text());
        System.out.printf("beam sequence_score max abs diff vs transformers: %.3g%n", maxDiff);
    }

    /** Each row alone, then in batches of 2 and 3 in several orders: identical ids, scores within 1e-5. */
    private static void assertBatchInvariant(List<AnnotationInput> rows, String what) {
        List<Annotation> alone = new ArrayList<>();
        for (AnnotationInput row : rows) {
            alone.add(annotateOne(row));
        }
        double maxDiff = 0;
        int[][] orders = {{0, 1}, {1, 0}, {2, 0}, {1, 2}, {0, 1, 2}, {2, 1, 0}, {1, 2, 0}};
        for (int[] order : orders) {
            List<AnnotationInput> batch = new ArrayList<>();
            for (int i : order) {
                batch.add(rows.get(i));
            }
            List<AnnotationOutcome> out = annotator.annotate(batch);
            for (int k = 0; k < order.length; k++) {
                Annotation want = alone.get(order[k]);
                Annotation got = out.get(k).annotation();
                assertThat(got.sequences()).hasSameSizeAs(want.sequences());
                for (int j = 0; j < want.sequences().size(); j++) {
                    String as = what + " row " + order[k] + " sequence " + j + " in " + Arrays.toString(order);
                    assertThat(got.sequences().get(j).tokenIds()).as(as)
                            .containsExactly(want.sequences().get(j).tokenIds());
                    assertThat(got.sequences().get(j).score()).as(as)
                            .isCloseTo(want.sequences().get(j).score(), within(1e-5));
                    maxDiff = Math.max(maxDiff, Math.abs(got.sequences().get(j).score() - want.sequences().get(j).score()));
                }
            }
        }
        System.out.printf("%s: batch vs alone max abs score diff %.3g%n", what, maxDiff);
    }

    @Test
    void beamsOfARequestDoNotDependOnItsBatchMates() throws Exception {
        assertBatchInvariant(batchRows(BEAMS), "beam search");
        assertBatchInvariant(batchRows(BEAMS.withEarlyStopping(GenerationConfig.EarlyStopping.TRUE)
                .withLengthPenalty(0.5).withMinNewTokens(2)), "beam search, early stopping, length penalty 0.5");
    }

    @Test
    void sampledTokensDependOnTheRequestSeedOnly() throws Exception {
        GenerationConfig sample = GenerationConfig.greedy(12).withSampling(true, 1.5, 0, 1.0);
        List<AnnotationInput> rows = batchRows(sample.withSeed(7));
        // different seeds within one batch
        rows.set(1, new AnnotationInput("s1", rows.get(1).pixels(), rows.get(1).prompt(), Task.VQA, List.of(),
                sample.withSeed(11)));
        assertBatchInvariant(rows, "sampling");
        assertBatchInvariant(batchRows(sample.withSampling(true, 0.8, 20, 0.9).withBeams(1, 2).withSeed(3)),
                "sampling top-k 20 top-p 0.9, 2 sequences");
        assertBatchInvariant(batchRows(sample.withBeams(3, 2).withSeed(9)), "beam sampling, 3 beams");

        JsonNode single = reference.path("single");
        Map<String, Integer> distinct = new HashMap<>();
        for (long seed = 1; seed <= 4; seed++) {
            Annotation a = annotateOne(input(single.path("image").asText(), single.path("prompt").asText(),
                    sample.withSeed(seed)));
            distinct.merge(Arrays.toString(a.tokenIds()), 1, Integer::sum);
        }
        assertThat(distinct).as("four seeds, temperature 1.5").hasSizeGreaterThan(1);
    }

    /**
     * Continuous batching through the annotator: a mix of greedy rows of different lengths, seeded sampling, a
     * repetition penalty, beams, a ranking row and a prompt too long, two rows decoding at once, so rows join while
     * others decode: every outcome equals the row's outcome alone (identical ids, scores within 1e-5), and each is
     * handed over exactly once.
     */
    @Test
    void continuousBatchingGivesEveryRowItsAloneResult() throws Exception {
        List<AnnotationInput> rows = new ArrayList<>();
        List<GenerationConfig> configs = List.of(GenerationConfig.greedy(3).withMinNewTokens(3), GenerationConfig.greedy(12),
                GenerationConfig.greedy(8).withSampling(true, 1.5, 0, 1.0).withSeed(7),
                GenerationConfig.greedy(6).withRepetitionPenalty(1.3), BEAMS);
        for (GenerationConfig config : configs) {
            rows.addAll(batchRows(config));
        }
        AnnotationInput first = rows.get(0);
        rows.add(new AnnotationInput("rank", first.pixels(), first.prompt(), Task.RANK, List.of("a cat", "a dog"),
                GenerationConfig.greedy(4)));
        rows.add(new AnnotationInput("long", first.pixels(), "word ".repeat(400), Task.VQA, List.of(),
                GenerationConfig.greedy(4)));
        List<AnnotationOutcome> alone = new ArrayList<>();
        for (AnnotationInput row : rows) {
            alone.add(annotator.annotate(List.of(row)).get(0));
        }
        assertThat(alone.get(rows.size() - 1).errorCode()).isEqualTo(dev.loupe.model.api.ErrorCode.PROMPT_TOO_LONG);

        AnnotationOutcome[] got = new AnnotationOutcome[rows.size()];
        List<Integer> order = new ArrayList<>();
        annotator.annotateContinuously(rows, 2, (index, outcome) -> {
            assertThat(got[index]).as("outcome %d handed over twice", index).isNull();
            got[index] = outcome;
            order.add(index);
        });
        assertThat(order).hasSize(rows.size());
        System.out.printf("continuous: finishing order %s%n", order);
        // rows 2 (3 tokens) and 3 (12) are admitted together; row 2 is handed over while row 3 still decodes
        assertThat(alone.get(3).annotation().tokenIds()).hasSize(12);
        assertThat(order.indexOf(2)).isLessThan(order.indexOf(3));
        for (int i = 0; i < rows.size(); i++) {
            assertThat(got[i].isSuccess()).as("row %d", i).isEqualTo(alone.get(i).isSuccess());
            if (!got[i].isSuccess()) {
                assertThat(got[i].errorCode()).isEqualTo(alone.get(i).errorCode());
                continue;
            }
            Annotation want = alone.get(i).annotation();
            Annotation a = got[i].annotation();
            assertThat(a.tokenIds()).as("row %d", i).containsExactly(want.tokenIds());
            assertThat(a.score()).as("row %d", i).isCloseTo(want.score(), within(1e-5));
            assertThat(a.text()).isEqualTo(want.text());
            assertThat(a.candidates()).hasSameSizeAs(want.candidates());
        }
        assertThat(got[2].annotation().tokenIds()).hasSize(3);

        // an image the vision encoder refuses fails its admitted group's image side: only that row fails
        AnnotationInput badImage = new AnnotationInput("bad", new dev.loupe.model.api.ImageTensor(
                new float[3 * 16 * 16], 3, 16, 16), first.prompt(), Task.VQA, List.of(), GenerationConfig.greedy(4));
        List<AnnotationOutcome> isolated = annotator.annotateContinuously(List.of(rows.get(3), badImage, rows.get(4)), 4);
        assertThat(isolated.get(1).errorCode()).isEqualTo(dev.loupe.model.api.ErrorCode.INVALID_REQUEST);
        assertThat(isolated.get(0).annotation().tokenIds()).containsExactly(alone.get(3).annotation().tokenIds());
        assertThat(isolated.get(2).annotation().tokenIds()).containsExactly(alone.get(4).annotation().tokenIds());
    }

    /**
     * Continuous batching with the image side of waiting rows built on a background thread while rows decode (the
     * default) and with every group built on the loop's thread
     * ({@link dev.loupe.model.vlm.PrefixLanguageModelAnnotator#PREFIXES_IN_BACKGROUND} false), with background
     * groups of 1 and of 3 rows: rows of different lengths join while others decode, and every row still gets
     * exactly its alone result, a bad image only its own failure.
     */
    @Test
    void continuousBatchingWithTheImageSideInTheBackgroundOrOnTheLoopGivesEveryRowItsAloneResult() throws Exception {
        List<AnnotationInput> rows = new ArrayList<>();
        for (GenerationConfig config : List.of(GenerationConfig.greedy(2).withMinNewTokens(2),
                GenerationConfig.greedy(9).withMinNewTokens(9), GenerationConfig.greedy(5).withMinNewTokens(5))) {
            rows.addAll(batchRows(config));
        }
        AnnotationInput first = rows.get(0);
        rows.add(4, new AnnotationInput("bad", new dev.loupe.model.api.ImageTensor(new float[3 * 16 * 16], 3, 16, 16),
                first.prompt(), Task.VQA, List.of(), GenerationConfig.greedy(4)));
        List<AnnotationOutcome> alone = new ArrayList<>();
        for (AnnotationInput row : rows) {
            alone.add(annotator.annotate(List.of(row)).get(0));
        }
        String background = dev.loupe.model.vlm.PrefixLanguageModelAnnotator.PREFIXES_IN_BACKGROUND;
        String group = dev.loupe.model.vlm.PrefixLanguageModelAnnotator.BACKGROUND_GROUP;
        for (String[] setting : List.of(new String[] {"false", "1"}, new String[] {"true", "1"},
                new String[] {"true", "3"})) {
            System.setProperty(background, setting[0]);
            System.setProperty(group, setting[1]);
            try {
                assertAloneResults(annotator.annotateContinuously(rows, 4), alone,
                        "background " + setting[0] + ", group " + setting[1]);
            } finally {
                System.clearProperty(background);
                System.clearProperty(group);
            }
        }
    }

    /**
     * A fed loop that starts with the requests that came within its wait takes those that arrived while their image
     * side was built into the same first prefill (one prefill of four rows, not two of two), and every row still gets
     * its alone result.
     */
    @Test
    void requestsArrivingWhileTheFirstGroupIsBuiltJoinItsPrefill() throws Exception {
        List<AnnotationInput> rows = new ArrayList<>(batchRows(GenerationConfig.greedy(5).withMinNewTokens(5)));
        rows.add(batchRows(GenerationConfig.greedy(3).withMinNewTokens(3)).get(0));
        List<AnnotationOutcome> alone = new ArrayList<>();
        for (AnnotationInput row : rows) {
            alone.add(annotator.annotate(List.of(row)).get(0));
        }
        // two requests wait when the loop starts; the other two arrive while their image side is built
        ArrayDeque<List<Integer>> arrivals = new ArrayDeque<>(List.of(List.of(0, 1), List.of(2, 3)));
        AnnotationFeed<Integer> feed = new AnnotationFeed<>() {
            @Override
            public List<Integer> poll(int max) {
                List<Integer> next = arrivals.isEmpty() ? List.of() : arrivals.poll();
                assertThat(next.size()).isLessThanOrEqualTo(max);
                return next;
            }

            @Override
            public boolean awaitWork() {
                return !arrivals.isEmpty();
            }

            @Override
            public boolean cancelled() {
                return false;
            }

            @Override
            public AnnotationInput input(Integer request) {
                return rows.get(request);
            }
        };
        AnnotationOutcome[] got = new AnnotationOutcome[rows.size()];
        GenerationSplit before = annotator.generationSplit();

        annotator.annotateFed(feed, 4, (index, outcome) -> got[index] = outcome);

        GenerationSplit span = annotator.generationSplit().minus(before);
        assertThat(span.prefillRuns()).as("%s", span.summary()).isEqualTo(1);
        assertThat(span.prefillRows()).isEqualTo(4);
        for (int i = 0; i < rows.size(); i++) {
            assertThat(got[i].annotation().tokenIds()).as("row %d", i)
                    .containsExactly(alone.get(i).annotation().tokenIds());
            assertThat(got[i].annotation().score()).isCloseTo(alone.get(i).annotation().score(), within(1e-5));
        }
    }

    /** Row 4 failed for its bad image; every other row equals its alone result. */
    private static void assertAloneResults(List<AnnotationOutcome> got, List<AnnotationOutcome> alone, String what) {
        assertThat(got.get(4).errorCode()).as(what).isEqualTo(dev.loupe.model.api.ErrorCode.INVALID_REQUEST);
        for (int i = 0; i < got.size(); i++) {
            if (i == 4) {
                continue;
            }
            assertThat(got.get(i).isSuccess()).as("%s, row %d: %s", what, i, got.get(i)).isTrue();
            assertThat(got.get(i).annotation().tokenIds()).as("%s, row %d", what, i)
                    .containsExactly(alone.get(i).annotation().tokenIds());
            assertThat(got.get(i).annotation().score()).as("%s, row %d", what, i)
                    .isCloseTo(alone.get(i).annotation().score(), within(1e-5));
        }
    }

    @Test
    void samplingFromTheTopTokenOnlyIsGreedy() throws Exception {
        JsonNode single = reference.path("single");
        Annotation a = annotateOne(input(single.path("image").asText(), single.path("prompt").asText(),
                GenerationConfig.greedy(12).withSampling(true, 0.7, 1, 1.0).withSeed(5)));
        assertThat(a.tokenIds()).containsExactly(ints(single.path("greedy").path("new_token_ids")));
        Annotation greedy = annotateOne(input(single.path("image").asText(), single.path("prompt").asText(),
                GenerationConfig.greedy(12)));
        assertThat(a.score()).isCloseTo(greedy.score(), within(1e-6));
    }

    @Test
    void repetitionPenaltyReducesRepeats() throws Exception {
        JsonNode single = reference.path("single");
        int[] plain = ints(single.path("greedy").path("new_token_ids"));
        Annotation penalised = annotateOne(input(single.path("image").asText(), single.path("prompt").asText(),
                GenerationConfig.greedy(12).withRepetitionPenalty(5.0)));
        assertThat(penalised.tokenIds()).isNotEqualTo(plain);
        assertThat(maxRepeats(penalised.tokenIds())).isLessThanOrEqualTo(maxRepeats(plain));
        // penalty 1 through the processor path is plain greedy
        Annotation sameAsGreedy = annotateOne(input(single.path("image").asText(), single.path("prompt").asText(),
                GenerationConfig.greedy(12).withRepetitionPenalty(1.0 + 1e-12)));
        assertThat(sameAsGreedy.tokenIds()).containsExactly(plain);
        System.out.printf("repetition penalty 5: %s (max repeats %d) vs greedy %s (max repeats %d)%n",
                Arrays.toString(penalised.tokenIds()), maxRepeats(penalised.tokenIds()), Arrays.toString(plain),
                maxRepeats(plain));
        assertBatchInvariant(batchRows(GenerationConfig.greedy(12).withRepetitionPenalty(1.3)), "repetition penalty");
    }

    /**
     * transformers (since InstructBLIP's generate passes input_ids with inputs_embeds) penalises the prompt's input
     * ids, image placeholders included, not only generated ones: a penalty below 1 then favours a prompt token at
     * the first step. Expected first token: the argmax of the fixture's first-step logits penalised by hand.
     */
    @Test
    void repetitionPenaltySeesThePromptInputIds() throws Exception {
        JsonNode single = reference.path("single");
        JsonNode logits = single.path("first_step_logits").path("values");
        java.util.Set<Integer> promptIds = new java.util.HashSet<>();
        for (JsonNode id : single.path("inputs").path("input_ids").path("values").get(0)) {
            promptIds.add(id.asInt());
        }
        int expected = -1;
        double best = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.size(); i++) {
            double v = logits.get(i).asDouble();
            if (promptIds.contains(i)) {
                v = v < 0 ? v * 0.2 : v / 0.2;
            }
            if (v > best) {
                best = v;
                expected = i;
            }
        }
        assertThat(promptIds).contains(expected);
        Annotation a = annotateOne(input(single.path("image").asText(), single.path("prompt").asText(),
                GenerationConfig.greedy(3).withRepetitionPenalty(0.2)));
        assertThat(a.tokenIds()[0]).isEqualTo(expected).isNotEqualTo(single.path("greedy").path("new_token_ids").get(0).asInt());
    }

    private static int maxRepeats(int[] ids) {
        Map<Integer, Integer> counts = new HashMap<>();
        int max = 0;
        for (int id : ids) {
            max = Math.max(max, counts.merge(id, 1, Integer::sum));
        }
        return max;
    }
}
