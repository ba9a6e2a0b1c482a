package dev.loupe.model.llava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.Models;
import dev.loupe.model.PackageAnnotatorFactory;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.ConvertedFixture;
import dev.loupe.model.testing.HfFixture;
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
 * The whole LLaVA runtime through {@link Models} — converted package, CLIP preprocessing from the PNG bytes,
 * templating, image features spliced into the prompt, greedy and beam generation, candidate ranking — against
 * the transformers reference, and batch invariance over real rows.
 */
class LlavaAnnotatorTest {
    private static final GenerationConfig TWELVE = GenerationConfig.greedy(12);

    @TempDir
    static Path tmp;

    static Path packageDir;
    static BatchAnnotator annotator;
    static ImagePreprocessor preprocessor;
    static JsonNode reference;

    @BeforeAll
    static void convertFixture(TestInfo testInfo) throws Exception {
        ConvertedFixture model = ConvertedFixture.convert(HfFixture.LLAVA, tmp.resolve("pkg"), testInfo);
        packageDir = model.packageDir;
        assertThat(model.factory).isInstanceOf(PackageAnnotatorFactory.class);
        assertThat(((PackageAnnotatorFactory) model.factory).family()).isSameAs(LlavaFamily.INSTANCE);
        annotator = model.openAnnotator();
        preprocessor = model.preprocessor;
        reference = model.reference;
    }

    @AfterAll
    static void close() {
        annotator.close();
    }

    private static ImageTensor image(String file) throws Exception {
        return preprocessor.preprocess(Files.readAllBytes(HfFixture.image(file)));
    }

    /** A request as a user sends it: the plain prompt, which the annotator templates. */
    private static AnnotationInput input(String id, String imageFile, String templatedPrompt, GenerationConfig config)
            throws Exception {
        return new AnnotationInput(id, image(imageFile), LlavaTemplate.plain(templatedPrompt), Task.VQA, List.of(),
                config);
    }

    @Test
    void singleImageMatchesTransformersGreedy() throws Exception {
        JsonNode single = reference.path("single");
        List<AnnotationOutcome> out = annotator.annotate(List.of(
                input("s", single.path("image").asText(), single.path("prompt").asText(), TWELVE)));

        assertThat(out.get(0).isSuccess()).as("%s", out.get(0)).isTrue();
        Annotation a = out.get(0).annotation();
        JsonNode greedy = single.path("greedy");
        assertThat(a.tokenIds()).containsExactly(HfFixture.ints(greedy.path("new_token_ids")));
        double sum = 0;
        for (JsonNode step : greedy.path("steps")) {
            sum += step.path("logprob").asDouble();
        }
        double expected = sum / greedy.path("steps").size();
        System.out.printf("llava greedy score diff %.3g%n", Math.abs(a.score() - expected));
        assertThat(a.score()).isCloseTo(expected, within(1e-4));
        assertThat(a.text()).isEqualTo(greedy.path("text").asText().strip());
    }

    @Test
    void beamSearchMatchesTransformers() throws Exception {
        JsonNode single = reference.path("single");
        JsonNode beams = single.path("beam").path("beams");
        Annotation a = annotator.annotate(List.of(input("b", single.path("image").asText(),
                single.path("prompt").asText(), TWELVE.withBeams(3, 3)))).get(0).annotation();

        assertThat(a.sequences()).hasSize(beams.size());
        double maxDiff = 0;
        for (int i = 0; i < beams.size(); i++) {
            assertThat(a.sequences().get(i).tokenIds()).as("beam %d", i)
                    .containsExactly(HfFixture.ints(beams.get(i).path("new_token_ids")));
            double expected = beams.get(i).path("sequence_score").asDouble();
            maxDiff = Math.max(maxDiff, Math.abs(a.sequences().get(i).score() - expected));
            assertThat(a.sequences().get(i).score()).as("beam %d", i).isCloseTo(expected, within(1e-4));
        }
        System.out.printf("llava beam score max diff %.3g%n", maxDiff);
        assertThat(a.tokenIds()).containsExactly(HfFixture.ints(beams.get(0).path("new_token_ids")));
    }

    @Test
    void everyRowOfEveryBatchEqualsItsAloneResult() throws Exception {
        JsonNode batch = reference.path("batch");
        JsonNode alone = batch.path("unpadded_check");
        List<AnnotationInput> rows = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            rows.add(input("r" + i, batch.path("images").get(i).asText(), batch.path("prompts").get(i).asText(), TWELVE));
        }
        double[] aloneScores = new double[3];
        for (int i = 0; i < 3; i++) {
            Annotation a = annotator.annotate(List.of(rows.get(i))).get(0).annotation();
            assertThat(a.tokenIds()).as("row %d alone", i)
                    .containsExactly(HfFixture.ints(alone.get(i).path("unpadded_new_token_ids")));
            aloneScores[i] = a.score();
        }
        int[][] orders = {{0}, {0, 1}, {1, 0}, {2, 0}, {1, 2}, {0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {0, 2, 1}, {2, 2, 1}};
        for (int[] order : orders) {
            List<AnnotationInput> b = new ArrayList<>();
            for (int i : order) {
                b.add(rows.get(i));
            }
            List<AnnotationOutcome> out = annotator.annotate(b);
            for (int k = 0; k < order.length; k++) {
                int row = order[k];
                Annotation a = out.get(k).annotation();
                assertThat(a.tokenIds()).as("row %d at %d of %s", row, k, Arrays.toString(order))
                        .containsExactly(HfFixture.ints(alone.get(row).path("unpadded_new_token_ids")));
                assertThat(a.score()).isCloseTo(aloneScores[row], within(1e-5));
            }
        }
    }

    @Test
    void candidateScoresMatchTransformersAndDoNotDependOnTheBatch() throws Exception {
        JsonNode rank = reference.path("rank");
        List<String> candidates = new ArrayList<>();
        for (JsonNode c : rank.path("candidates")) {
            candidates.add(c.path("candidate").asText());
        }
        AnnotationInput ranked = new AnnotationInput("rank", image(rank.path("image").asText()),
                LlavaTemplate.plain(rank.path("prompt").asText()), Task.RANK, candidates, TWELVE);
        JsonNode single = reference.path("single");
        AnnotationInput generated = input("gen", single.path("image").asText(), single.path("prompt").asText(), TWELVE);

        double maxDiff = 0;
        for (List<AnnotationInput> batch : List.of(List.of(ranked), List.of(generated, ranked, ranked))) {
            List<AnnotationOutcome> out = annotator.annotate(batch);
            for (int k = 0; k < batch.size(); k++) {
                if (batch.get(k) != ranked) {
                    assertThat(out.get(k).annotation().tokenIds())
                            .containsExactly(HfFixture.ints(single.path("greedy").path("new_token_ids")));
                    continue;
                }
                Annotation a = out.get(k).annotation();
                assertThat(a.candidates()).extracting(Annotation.CandidateScore::text)
                        .containsExactlyElementsOf(candidates);
                for (int c = 0; c < candidates.size(); c++) {
                    double expected = rank.path("candidates").get(c).path("score_sum").asDouble();
                    maxDiff = Math.max(maxDiff, Math.abs(a.candidates().get(c).score() - expected));
                    assertThat(a.candidates().get(c).score()).as(candidates.get(c)).isCloseTo(expected, within(1e-3));
                }
                assertThat(a.text()).isEqualTo(rank.path("best").asText());
                assertThat(a.tokenIds()).containsExactly(HfFixture.ints(rank.path("candidates").get(
                        rank.path("ranking_by_score_sum").get(0).asInt()).path("cand_ids")));
            }
        }
        System.out.printf("llava candidate score max diff %.3g%n", maxDiff);
    }

    @Test
    void aBadRowFailsAloneAndItsBatchMatesAreServed() throws Exception {
        JsonNode single = reference.path("single");
        AnnotationInput good = input("good", single.path("image").asText(), single.path("prompt").asText(), TWELVE);
        AnnotationInput tooLong = new AnnotationInput("long", good.pixels(), "word ".repeat(400), Task.VQA, List.of(),
                TWELVE);
        AnnotationInput twoImages = new AnnotationInput("two", good.pixels(), "USER: <image><image>\nHi ASSISTANT:",
                Task.VQA, List.of(), TWELVE);
        AnnotationInput rankWithout = new AnnotationInput("rank", good.pixels(), "what color?", Task.RANK, List.of(),
                TWELVE);

        List<AnnotationOutcome> out = annotator.annotate(List.of(tooLong, good, twoImages, rankWithout));

        assertThat(out.get(0).errorCode()).isEqualTo(ErrorCode.PROMPT_TOO_LONG);
        assertThat(out.get(1).annotation().tokenIds())
                .containsExactly(HfFixture.ints(single.path("greedy").path("new_token_ids")));
        assertThat(out.get(2).errorCode()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(out.get(3).errorCode()).as("rank without candidates").isEqualTo(ErrorCode.INVALID_REQUEST);
    }

    @Test
    void anFp16PackageGeneratesTheSameGreedyIds() throws Exception {
        Path fp16 = tmp.resolve("pkg-fp16");
        Models.convert(HfFixture.LLAVA.checkpoint(), fp16, Precision.FP16);
        assertThat(Manifest.read(fp16).dtype()).isEqualTo("fp16");
        JsonNode single = reference.path("single");
        try (BatchAnnotator half = Models.open(fp16, RuntimeOptions.cpu(1)).createAnnotator()) {
            Annotation a = half.annotate(List.of(input("h", single.path("image").asText(),
                    single.path("prompt").asText(), TWELVE))).get(0).annotation();
            assertThat(a.tokenIds()).containsExactly(HfFixture.ints(single.path("greedy").path("new_token_ids")));
        }
    }

    @Test
    void packageRecordsItsFamilyAndSource() throws Exception {
        Manifest m = Manifest.read(packageDir);
        assertThat(m.family()).isEqualTo(LlavaPackage.FAMILY);
        assertThat(m.source().sha256()).isEqualTo(reference.path("model_sha256").asText());
        assertThat(m.specialTokens().bos()).isEqualTo(1);
        assertThat(m.specialTokens().eos()).containsExactly(2);
        assertThat(m.specialTokens().pad()).isEqualTo(384);
        assertThat(m.specialTokens().image()).isEqualTo(385);
        assertThat(m.graphs()).containsOnlyKeys(LlavaPackage.GRAPH_IMAGE, LlavaPackage.GRAPH_EMBED,
                LlavaPackage.GRAPH_DECODER);
        assertThat(annotator.modelVersion()).isEqualTo(m.source().sha256());
        assertThatThrownBy(() -> Models.convert(HfFixture.LLAVA.checkpoint(), packageDir))
                .hasMessageContaining("already holds a model package");
    }
}
